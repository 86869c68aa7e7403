//! The portal database: opening it, migrating it, and the clock format it stores.
//!
//! SQLite is the embedded default (WAL, synchronous FULL so a reported write survives a
//! crash); PostgreSQL serves several instances at once. Both go through sqlx's `Any`
//! driver, so every query is written once in the SQL both understand: `$N` placeholders,
//! `ON CONFLICT`, `RETURNING`, integers, text and flags (datetimes are `YYYY-MM-DD HH:MM:SS`
//! strings, which sort the same in both), and no engine-specific functions. A flag is
//! `BOOLEAN` on PostgreSQL and `INTEGER` 0/1 on SQLite: SQL compares it with a boolean
//! (`WHERE visible = TRUE`, `paused = FALSE`, `SET paused = TRUE`; never bare `WHERE
//! visible`, which SQLite cannot match to an index), binds a Rust `bool` and reads it
//! through [`typed::Flag`].

use std::str::FromStr;
use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

pub mod sessions;
pub mod throwaway;
pub mod typed;

pub type Db = AnyPool;
pub type Tx<'c> = sqlx::Transaction<'c, Any>;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Result<Backend, sqlx::Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(sqlx::Error::Configuration(
                "MILLRACE_DATABASE_URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    pub fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// The backend of an open pool.
pub fn backend(db: &Db) -> Backend {
    match db.connect_options().database_url.scheme() {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    }
}

/// Opens (creating a SQLite file if missing) and migrates the database at `url`.
pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let backend = Backend::of(url)?;
    let mut options = AnyConnectOptions::from_str(url)?;
    options = options.disable_statement_logging();
    let pool = match backend {
        Backend::Sqlite => {
            // What SqliteConnectOptions would set, as statements: `Any` cannot carry them.
            // No ping before each use: a connection to a local file does not go stale, and
            // each ping is one more round trip to the connection's thread per query.
            AnyPoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(16)
                .connect_with(options)
                .await?
        }
    };
    backend.migrator().run(&pool).await?;
    Ok(pool)
}

/// A transaction that will write, excluding every other writer: the conservative path,
/// right for any transaction whatever it reads and writes. `BEGIN IMMEDIATE` takes
/// SQLite's write lock up front (concurrent writers wait, within the busy timeout, instead
/// of failing with SQLITE_BUSY_SNAPSHOT); on PostgreSQL the transaction-scoped advisory
/// lock [`WRITE_LOCK`] in exclusive mode does the same across every instance, so code that
/// reads and then writes behaves identically on either.
pub async fn write(db: &Db) -> Result<Tx<'static>, sqlx::Error> {
    match backend(db) {
        Backend::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = db.begin().await?;
            // The wrapping SELECT: `Any` cannot carry the lock function's `void` result.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// A transaction that will write what `keys` name, and read-then-write nothing else: on
/// PostgreSQL it excludes only the writers of one of the same keys and the conservative
/// ones ([`write`]); keyed writers of other keys run beside it. It takes [`WRITE_LOCK`] in
/// shared mode, then one exclusive transaction-scoped advisory lock per key, in the one
/// global order ([`LockKey`]'s), so two keyed writers never wait for each other in a
/// circle. On SQLite it is [`write`] (one writer at a time anyway).
///
/// The caller's duty: every row the transaction decides on (reads, then writes because of
/// what it read) belongs to one of `keys`, and every other writer of those rows takes the
/// same key or [`write`]. Inserts into commit-ordered feeds take [`feed`] besides.
pub async fn write_keyed(db: &Db, keys: &[LockKey]) -> Result<Tx<'static>, sqlx::Error> {
    match backend(db) {
        Backend::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = db.begin().await?;
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared($1)) AS l")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            let mut keys = keys.to_vec();
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                lock_pair(&mut tx, k.space as i32, k.key).await?;
            }
            Ok(tx)
        }
    }
}

/// Takes the feed lock (PostgreSQL; nothing to do on SQLite): called just before a
/// transaction inserts into a table whose ids readers page through with a cursor
/// (`order_events`, `events`), and by the triggers that keep the per-status counts
/// (migration 0082), before they update a count row. Held to commit, it makes those ids
/// follow commit order among keyed writers: an id is drawn only by the one transaction
/// holding it, which commits before the next one draws, so a cursor never passes an id
/// that commits later. Taken last: after it, a transaction takes no [`LockKey`].
/// Re-taking it in the same transaction is free.
pub async fn feed(tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
    if let Some(Backend::Postgres) = tx_backend(tx) {
        lock_pair(tx, FEED_SPACE, 0).await?;
    }
    Ok(())
}

/// The backend of an open transaction, from its connection's driver.
fn tx_backend(tx: &Tx<'_>) -> Option<Backend> {
    match tx.backend_name() {
        "SQLite" => Some(Backend::Sqlite),
        "PostgreSQL" => Some(Backend::Postgres),
        _ => None,
    }
}

async fn lock_pair(tx: &mut Tx<'_>, space: i32, key: i32) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, $2)) AS l")
        .bind(space)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The advisory lock key of [`write`] and [`write_keyed`] ("millrace" in ASCII, fits in
/// an i64; the bigint form, apart from the two-int keys below).
const WRITE_LOCK: i64 = 0x6d_69_6c_6c_72_61_63_65;

/// The first int of the two-int advisory locks: "mil" and the kind of key.
const SPACE_BASE: i32 = 0x6d_69_6c_00;

/// The feed lock's space ([`feed`]); migration 0082's triggers name the same numbers
/// (1835625727, 0). Above every [`Space`], so in the global order it comes last.
const FEED_SPACE: i32 = SPACE_BASE + 0xff;

/// The kinds of thing a keyed writer serializes on; their order is the lock order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Space {
    /// A purchase order (portal id): its lines, answers, outbox messages, notices.
    Order = SPACE_BASE + 1,
    /// A planning snapshot kind: its imports, their version numbers.
    PlanningKind = SPACE_BASE + 2,
    /// The shipment notice numbers (`ASN-000001`, the next one drawn from the highest).
    NoticeNumbers = SPACE_BASE + 3,
    /// One user's idempotency key (`idempotency_keys`).
    Submission = SPACE_BASE + 4,
    /// One Odoo model's sync cursor (`sync_cursors`).
    SyncCursor = SPACE_BASE + 5,
    /// An Odoo purchase order the portal does not hold yet (by its Odoo id): the poll that
    /// stores it first ([`crate::server::order_events::write_for_odoo_order`]).
    NewOrder = SPACE_BASE + 6,
    /// A user's account row (active, companies), as an admin changes it.
    User = SPACE_BASE + 7,
    /// A supplier organisation's settings row (tolerances, order mail).
    Supplier = SPACE_BASE + 8,
    /// A webhook subscription: its secret, state, test deliveries and dead letters.
    Webhook = SPACE_BASE + 9,
    /// One named thing that is written whole, e.g. a table a timer replaces
    /// (`planning_on_hand`).
    Named = SPACE_BASE + 10,
}

/// One key of [`write_keyed`]: a kind and a 32-bit key within it. Distinct things may
/// share a key (ids above 2^31, hashed strings): that only serializes them needlessly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockKey {
    space: Space,
    key: i32,
}

impl LockKey {
    pub fn order(id: i64) -> LockKey {
        LockKey {
            space: Space::Order,
            key: fold(id),
        }
    }

    /// An order not stored yet, by its Odoo id; once stored it is [`LockKey::order`].
    pub fn new_order(odoo_id: i64) -> LockKey {
        LockKey {
            space: Space::NewOrder,
            key: fold(odoo_id),
        }
    }

    pub fn user(id: i64) -> LockKey {
        LockKey {
            space: Space::User,
            key: fold(id),
        }
    }

    pub fn supplier(id: i64) -> LockKey {
        LockKey {
            space: Space::Supplier,
            key: fold(id),
        }
    }

    pub fn webhook(id: i64) -> LockKey {
        LockKey {
            space: Space::Webhook,
            key: fold(id),
        }
    }

    pub fn named(name: &str) -> LockKey {
        LockKey {
            space: Space::Named,
            key: hashed(name.as_bytes()),
        }
    }

    pub fn planning_kind(code: &str) -> LockKey {
        LockKey {
            space: Space::PlanningKind,
            key: hashed(code.as_bytes()),
        }
    }

    pub fn notice_numbers() -> LockKey {
        LockKey {
            space: Space::NoticeNumbers,
            key: 0,
        }
    }

    pub fn sync_cursor(model: &str) -> LockKey {
        LockKey {
            space: Space::SyncCursor,
            key: hashed(model.as_bytes()),
        }
    }

    pub fn submission(user_id: i64, form_key: &str) -> LockKey {
        let mut bytes = user_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(form_key.as_bytes());
        LockKey {
            space: Space::Submission,
            key: hashed(&bytes),
        }
    }
}

/// An id as a 32-bit key: itself when it fits, else its halves folded.
fn fold(id: i64) -> i32 {
    i32::try_from(id).unwrap_or(((id >> 32) ^ id) as i32)
}

/// A stable 32-bit hash (the first bytes of SHA-256: the same on every instance and
/// build, unlike std's `Hasher`s).
fn hashed(bytes: &[u8]) -> i32 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    i32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A bind argument of a query assembled from the filters in force (only those go into
/// the SQL, so the planner sees plain predicates it can use indexes for).
pub enum Arg {
    Int(i64),
    Text(String),
}

/// Adds `a` to `args` and returns its placeholder (`$n`).
pub fn arg(args: &mut Vec<Arg>, a: Arg) -> String {
    args.push(a);
    format!("${}", args.len())
}

/// Binds `args` in order.
pub fn bind_args<'q, O>(
    mut query: sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments<'q>> {
    for a in args {
        query = match a {
            Arg::Int(i) => query.bind(*i),
            Arg::Text(t) => query.bind(t.as_str()),
        };
    }
    query
}

/// `$first, $first+1, ...`: `count` placeholders for an `IN (...)` list.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How times are stored: naive UTC.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Now in UTC as stored: `YYYY-MM-DD HH:MM:SS`.
pub fn now() -> String {
    chrono::Utc::now()
        .naive_utc()
        .format(TIME_FORMAT)
        .to_string()
}

pub fn at(offset: chrono::Duration) -> String {
    (chrono::Utc::now().naive_utc() + offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A stored value that does not parse as what its column holds: an error, never a guess.
#[derive(Debug, thiserror::Error)]
#[error("stored {what} {value:?} does not parse")]
pub struct BadStoredValue {
    pub what: &'static str,
    pub value: String,
}

fn bad(what: &'static str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(BadStoredValue {
        what,
        value: value.to_string(),
    }))
}

/// A stored UTC time (`YYYY-MM-DD HH:MM:SS`, fractions ignored; a bare date is its midnight).
pub fn utc_time(stored: &str) -> Result<chrono::NaiveDateTime, sqlx::Error> {
    let s = stored.trim();
    chrono::NaiveDateTime::parse_from_str(s.get(..19).unwrap_or(s), "%Y-%m-%d %H:%M:%S")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .map_err(|_| bad("time", stored))
}

pub fn opt_utc_time(stored: Option<String>) -> Result<Option<chrono::NaiveDateTime>, sqlx::Error> {
    stored.as_deref().map(utc_time).transpose()
}

/// A stored decimal (quantities, prices, amounts, percentages).
pub fn decimal(stored: &str) -> Result<rust_decimal::Decimal, sqlx::Error> {
    stored.trim().parse().map_err(|_| bad("decimal", stored))
}

/// A list of texts stored as a JSON array (lot numbers).
pub fn text_list(stored: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(stored).map_err(|_| bad("list of texts", stored))
}

pub fn opt_decimal(stored: Option<String>) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    stored.as_deref().map(decimal).transpose()
}

//! The portal database: opening it, migrating it, and the clock format it stores.
//!
//! SQLite is the embedded default (WAL, synchronous FULL so a reported write survives a
//! crash); PostgreSQL serves several instances at once. Both go through sqlx's `Any`
//! driver, so every query is written once in the SQL both understand: `$N` placeholders,
//! `ON CONFLICT`, `RETURNING`, integers and text (datetimes are `YYYY-MM-DD HH:MM:SS`
//! strings, which sort the same in both), and no engine-specific functions.

use std::str::FromStr;
use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

pub mod sessions;
pub mod throwaway;

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
            AnyPoolOptions::new()
                .max_connections(8)
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

/// A transaction that will write. Both backends serialize writers the same way, so code
/// that reads and then writes in one transaction behaves identically on either:
/// `BEGIN IMMEDIATE` takes SQLite's write lock up front (concurrent writers wait, within
/// the busy timeout, instead of failing with SQLITE_BUSY_SNAPSHOT); on PostgreSQL a
/// transaction-scoped advisory lock does the same across every instance.
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

/// The advisory lock key of [`write`] ("millrace" in ASCII, fits in an i64).
const WRITE_LOCK: i64 = 0x6d_69_6c_6c_72_61_63_65;

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

pub fn opt_decimal(stored: Option<String>) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    stored.as_deref().map(decimal).transpose()
}

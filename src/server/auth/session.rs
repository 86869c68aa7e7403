//! Who is signed in: the session keys, the user loaded for each request, and the role and
//! supplier-scope checks every server function makes.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::server::db::typed::{Code, Coded, Flag};
use crate::server::db::Db;

pub const USER_KEY: &str = "user_id";
pub const EPOCH_KEY: &str = "session_epoch";
pub const CSRF_KEY: &str = "csrf_token";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    SupplierAdmin,
    SupplierUser,
    Buyer,
    Admin,
    /// Internal staff who work on demand planning (`/planning`), like a buyer otherwise.
    Planner,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::SupplierAdmin => "supplier_admin",
            Role::SupplierUser => "supplier_user",
            Role::Buyer => "buyer",
            Role::Admin => "admin",
            Role::Planner => "planner",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [
            Role::SupplierAdmin,
            Role::SupplierUser,
            Role::Buyer,
            Role::Admin,
            Role::Planner,
        ]
        .into_iter()
        .find(|r| r.code() == s)
    }
}

impl Coded for Role {
    const WHAT: &'static str = "role";
    fn from_code(code: &str) -> Option<Self> {
        Role::from_code(code)
    }
}

/// The signed-in user, loaded from the database for each request.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Set for supplier users: the only supplier whose data they may see.
    pub supplier_id: Option<i64>,
    pub supplier_name: Option<String>,
    pub time_zone: String,
    /// For staff: the companies whose orders they see (`server::companies`).
    pub companies: crate::server::companies::CompanyScope,
}

impl CurrentUser {
    pub fn is_internal(&self) -> bool {
        matches!(self.role, Role::Buyer | Role::Admin | Role::Planner)
    }

    /// Planners and admins work on demand planning (`/planning`).
    pub fn plans(&self) -> bool {
        matches!(self.role, Role::Planner | Role::Admin)
    }

    /// Where times are shown to this user.
    pub fn clock(&self) -> crate::server::time::UserClock {
        crate::server::time::UserClock::for_zone(&self.time_zone)
    }
}

/// How long a session's user is served from memory before it is read again. Whatever
/// ends a session in this process (deactivation, a password change) forgets the user at
/// once ([`forget_user`]); another instance of the portal notices within this time.
pub const USER_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Users loaded recently, by session id: (the user, the session epoch it was checked
/// against, when). A plain map behind a lock, swept of expired entries as it grows.
type UserCache =
    std::collections::HashMap<tower_sessions::session::Id, (CurrentUser, i64, std::time::Instant)>;

fn user_cache() -> std::sync::MutexGuard<'static, UserCache> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<UserCache>> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Entries kept before expired ones are swept.
const USER_CACHE_SWEEP_AT: usize = 4096;

/// Forgets every cached session of the user: call it after committing a change to what
/// [`load_user`] reads (active, session epoch, role, supplier, time zone, companies).
pub fn forget_user(user_id: i64) {
    let mut cache = user_cache();
    FORGOTTEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    cache.retain(|_, (user, _, _)| user.id != user_id);
}

/// Counts [`forget_user`] calls: a user read while one happened is not cached (it may be
/// what was true just before the change).
static FORGOTTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// When a signed-in session was last saved because it was used ([`keep_alive`]).
const SEEN_KEY: &str = "seen_at";

/// How often a used session is saved again: sessions expire after 12 hours without one
/// (`Expiry::OnInactivity`), but tower-sessions saves (and so extends) only a changed
/// session. A session used now and then is re-saved at most once per this interval, so it
/// expires between 11 and 12 hours after its last use, at one write per hour of use.
pub const KEEP_ALIVE_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// Marks a signed-in session as used at `now` when it was last marked more than
/// [`KEEP_ALIVE_EVERY`] ago: the change makes tower-sessions save it at the end of the
/// request, which moves its expiry (and the cookie's) 12 hours from now.
pub async fn keep_alive(session: &Session, now: chrono::NaiveDateTime) {
    let now = now.and_utc().timestamp();
    let seen: Option<i64> = session.get(SEEN_KEY).await.ok().flatten();
    if seen.is_none_or(|at| now - at >= KEEP_ALIVE_EVERY.num_seconds()) {
        // Failing to mark it only means it may expire sooner: not worth refusing a page.
        let _ = session.insert(SEEN_KEY, now).await;
    }
}

/// Loads the session's user if the session is signed in, the user is active and the
/// session's epoch is current (a password change or deactivation bumps it). The user is
/// kept in memory for [`USER_CACHE_TTL`] per session.
pub async fn load_user(db: &Db, session: &Session) -> Option<CurrentUser> {
    let user_id: i64 = session.get(USER_KEY).await.ok().flatten()?;
    let epoch: i64 = session.get(EPOCH_KEY).await.ok().flatten()?;
    let id = session.id();
    if let Some(id) = id {
        let mut cache = user_cache();
        match cache.get(&id) {
            Some((user, at_epoch, at))
                if user.id == user_id && *at_epoch == epoch && at.elapsed() < USER_CACHE_TTL =>
            {
                return Some(user.clone());
            }
            Some(_) => {
                cache.remove(&id);
            }
            None => {}
        }
    }
    let forgotten = FORGOTTEN.load(std::sync::atomic::Ordering::SeqCst);
    let user = read_user(db, session, user_id, epoch).await?;
    if let Some(id) = id {
        let mut cache = user_cache();
        if FORGOTTEN.load(std::sync::atomic::Ordering::SeqCst) != forgotten {
            return Some(user);
        }
        if cache.len() >= USER_CACHE_SWEEP_AT {
            cache.retain(|_, (_, _, at)| at.elapsed() < USER_CACHE_TTL);
        }
        cache.insert(id, (user.clone(), epoch, std::time::Instant::now()));
    }
    Some(user)
}

/// A user as a session or a bearer token acts as: its row and its supplier's name, read
/// with `user_columns!()` from `users u LEFT JOIN suppliers s ON s.id = u.supplier_id`. An
/// unknown role or a flag other than 0/1 fails the read.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Code<Role>,
    pub supplier_id: Option<i64>,
    pub supplier_name: Option<String>,
    pub time_zone: String,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
}

/// The columns of a [`UserRow`].
macro_rules! user_columns {
    () => {
        "u.id AS user_id, u.email, u.display_name, u.role, u.supplier_id, s.name AS supplier_name, u.time_zone, u.active"
    };
}
pub(crate) use user_columns;

impl UserRow {
    /// The signed-in user this row stands for, with its company scope read.
    pub(crate) async fn signed_in(
        self,
        db: &Db,
        time_zone: Option<&str>,
    ) -> Result<CurrentUser, sqlx::Error> {
        let role = self.role.0;
        Ok(CurrentUser {
            id: self.user_id,
            email: self.email,
            display_name: self.display_name,
            role,
            supplier_id: self.supplier_id,
            supplier_name: self.supplier_name,
            time_zone: time_zone.map_or(self.time_zone, str::to_string),
            companies: crate::server::companies::scope_of(db, self.user_id, role).await?,
        })
    }
}

/// [`load_user`] from the database.
async fn read_user(db: &Db, session: &Session, user_id: i64, epoch: i64) -> Option<CurrentUser> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        session_epoch: i64,
    }
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", u.session_epoch FROM users u LEFT JOIN suppliers s ON s.id = u.supplier_id WHERE u.id = $1"
    ))
    .bind(user_id)
    .fetch_optional(db)
    .await
    .ok()
    .flatten();
    let row = row?;
    if !row.user.active || row.session_epoch != epoch {
        // Ended elsewhere (deactivated, password changed): forget this session for good.
        let _ = session.flush().await;
        return None;
    }
    row.user.signed_in(db, None).await.ok()
}

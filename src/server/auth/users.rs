//! Sign-in with per-account and per-IP rate limiting, and user administration primitives.

use tower_sessions::Session;

use super::password;
use super::session::{Role, EPOCH_KEY, USER_KEY};
use crate::server::db::typed::Flag;
use crate::server::db::{self, Db};

/// Failed attempts allowed per account (and, separately, per address) in the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 20;
pub const LOCKOUT_MINUTES: i64 = 15;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    #[error("the email or password is wrong")]
    WrongCredentials,
    #[error("too many failed sign-ins: try again in {minutes} minutes or reset your password")]
    LockedOut { minutes: i64 },
    #[error("the portal could not check your sign-in; try again")]
    Storage,
}

pub async fn sign_in(
    db: &Db,
    session: &Session,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<i64, LoginError> {
    let email = &email.trim().to_lowercase();
    let since = db::at(-chrono::Duration::minutes(LOCKOUT_MINUTES));
    let (by_account,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND succeeded = 0 AND at >= $2",
    )
    .bind(email)
    .bind(&since)
    .fetch_one(db)
    .await
    .map_err(|_| LoginError::Storage)?;
    let (by_ip,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM login_attempts WHERE ip = $1 AND succeeded = 0 AND at >= $2",
    )
    .bind(ip)
    .bind(&since)
    .fetch_one(db)
    .await
    .map_err(|_| LoginError::Storage)?;
    if by_account >= MAX_FAILURES_PER_ACCOUNT || by_ip >= MAX_FAILURES_PER_IP {
        metrics::counter!(crate::server::telemetry::LOGIN_FAILURES, "reason" => "locked_out")
            .increment(1);
        audit(db, None, "login_locked_out", email, "", ip)
            .await
            .map_err(|_| LoginError::Storage)?;
        return Err(LoginError::LockedOut {
            minutes: LOCKOUT_MINUTES,
        });
    }
    let row: Option<(i64, String, Flag, i64)> = sqlx::query_as(
        "SELECT id, password_hash, active, session_epoch FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(db)
    .await
    .map_err(|_| LoginError::Storage)?;
    let ok = match &row {
        Some((_, hash, active, _)) => password::verify(password, hash) && active.0,
        None => {
            password::verify(password, password::dummy_hash());
            false
        }
    };
    // The attempt and its audit entry: both or neither. Keyed on nothing: the transaction
    // only inserts (the lockout counts above are read before it, as they always were), so
    // a sign-in does not wait for a long keyed writer such as a planning import.
    let mut tx = db::write_keyed(db, &[])
        .await
        .map_err(|_| LoginError::Storage)?;
    sqlx::query("INSERT INTO login_attempts (email, ip, succeeded, at) VALUES ($1, $2, $3, $4)")
        .bind(email)
        .bind(ip)
        .bind(ok as i64)
        .bind(db::now())
        .execute(&mut *tx)
        .await
        .map_err(|_| LoginError::Storage)?;
    let signed_in = row.filter(|_| ok);
    match &signed_in {
        Some((user_id, ..)) => audit(&mut *tx, Some(*user_id), "login", email, "", ip).await,
        None => audit(&mut *tx, None, "login_failed", email, "", ip).await,
    }
    .map_err(|_| LoginError::Storage)?;
    tx.commit().await.map_err(|_| LoginError::Storage)?;
    let Some((user_id, _, _, epoch)) = signed_in else {
        metrics::counter!(crate::server::telemetry::LOGIN_FAILURES, "reason" => "wrong_credentials").increment(1);
        return Err(LoginError::WrongCredentials);
    };
    // A new session id at sign-in: a session fixed before it is worth nothing after.
    session.cycle_id().await.map_err(|_| LoginError::Storage)?;
    session
        .insert(USER_KEY, user_id)
        .await
        .map_err(|_| LoginError::Storage)?;
    session
        .insert(EPOCH_KEY, epoch)
        .await
        .map_err(|_| LoginError::Storage)?;
    Ok(user_id)
}

pub async fn create_user(
    db: &Db,
    email: &str,
    display_name: &str,
    password_plain: &str,
    role: Role,
    supplier_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let hash = password::hash(password_plain);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, display_name, password_hash, role, supplier_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(email.trim().to_lowercase())
    .bind(display_name)
    .bind(hash)
    .bind(role.code())
    .bind(supplier_id)
    .bind(db::now())
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// Ends every session of the user at once (password change, deactivation).
pub async fn end_all_sessions(db: &Db, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    super::session::forget_user(user_id);
    Ok(())
}

pub async fn set_active(db: &Db, user_id: i64, active: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
        .bind(active)
        .bind(user_id)
        .execute(db)
        .await?;
    if !active {
        end_all_sessions(db, user_id).await?;
    }
    super::session::forget_user(user_id);
    Ok(())
}

/// Appends to the audit log, in the transaction of the action it records (`db` is that
/// transaction), so no action happens without its entry: a failure fails the action.
pub async fn audit<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    actor: Option<i64>,
    action: &str,
    target: &str,
    detail: &str,
    ip: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (at, actor_user_id, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(db::now())
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .bind(ip)
        .execute(db)
        .await?;
    Ok(())
}

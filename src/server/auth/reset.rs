//! Password reset by an emailed, single-use link that expires. Only a hash of the token is
//! stored; the answer to a request never tells whether the address has an account.

use crate::server::clock::Clock;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::password;
use super::users::audit;
use crate::server::db::{self, Db};

pub const LINK_VALID_MINUTES: i64 = 60;
/// Reset mails per address per hour, so the form cannot be used to flood an inbox.
pub const MAX_REQUESTS_PER_HOUR: i64 = 3;

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResetError {
    #[error("this link is not valid any more (it was used, or it expired): ask for a new one")]
    InvalidLink,
    #[error(transparent)]
    Refused(#[from] password::NewPasswordError),
    #[error("the portal could not store the change; try again")]
    Storage,
}

/// Sends a reset link if `email` belongs to an active account (through the mail outbox,
/// which the demo shows as a mailbox). Says nothing either way.
pub async fn request(db: &Db, email: &str, public_url: &str, ip: &str) -> Result<(), sqlx::Error> {
    let email = &email.trim().to_lowercase();
    let user: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, display_name FROM users WHERE email = $1 AND active = TRUE AND kind = 'person'",
    )
    .bind(email)
    .fetch_optional(db)
    .await?;
    let Some((user_id, name)) = user else {
        audit(db, None, "password_reset_unknown_email", email, "", ip).await?;
        return Ok(());
    };
    // Links expire an hour after they are made: the unexpired ones are this hour's requests.
    let (recent,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM password_reset_tokens WHERE user_id = $1 AND expires_at >= $2 AND purpose = 'reset'",
    )
    .bind(user_id)
    .bind(db::now())
    .fetch_one(db)
    .await?;
    if recent >= MAX_REQUESTS_PER_HOUR {
        audit(db, Some(user_id), "password_reset_throttled", email, "", ip).await?;
        return Ok(());
    }
    // Inserts only (the link, its mail, the audit entry): keyed on nothing.
    let mut tx = db::write_keyed(db, &[]).await?;
    let link = issue_link(
        &mut tx,
        user_id,
        Purpose::Reset,
        chrono::Duration::minutes(LINK_VALID_MINUTES),
        public_url,
    )
    .await?;
    crate::server::notify::queue(
        &mut tx,
        email,
        "Reset your Millrace password",
        &format!(
            "Hello {name},\n\nSomeone (hopefully you) asked to reset your password for the supplier portal.\nOpen this link within {LINK_VALID_MINUTES} minutes to choose a new one; it works once:\n\n{link}\n\nIf you did not ask, ignore this message: your password stays as it is.\n"
        ),
    )
    .await?;
    audit(
        &mut *tx,
        Some(user_id),
        "password_reset_requested",
        email,
        "",
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a single-use link is for; both set a password when used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    Invitation,
}

/// Makes a single-use link to choose a password, valid for `valid`; stores only its hash.
pub async fn issue_link(
    tx: &mut db::Tx<'_>,
    user_id: i64,
    purpose: Purpose,
    valid: chrono::Duration,
    public_url: &str,
) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query(
        "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at, purpose) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(db::at(valid))
    .bind(match purpose {
        Purpose::Reset => "reset",
        Purpose::Invitation => "invitation",
    })
    .execute(&mut **tx)
    .await?;
    Ok(format!(
        "{}/password-reset/{token}",
        public_url.trim_end_matches('/')
    ))
}

/// Sets a new password with a valid link; the link is used up and every session of the
/// user ends (`users.session_epoch`, see `session::load_user`).
pub async fn complete(
    db: &Db,
    clock: &Clock,
    token: &str,
    new_password: &str,
    confirm: &str,
    ip: &str,
) -> Result<(), ResetError> {
    password::check_new(new_password, confirm)?;
    let hash = password::hash(new_password);
    // Keyed on nothing: the link is used up by a conditional UPDATE (one of two concurrent
    // uses wins the row), and the user's row changes by its own statement.
    let mut tx = db::write_keyed(db, &[])
        .await
        .map_err(|_| ResetError::Storage)?;
    let now = clock.stored_now();
    let used = sqlx::query("UPDATE password_reset_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at >= $3")
        .bind(&now)
        .bind(token_hash(token))
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|_| ResetError::Storage)?;
    if used.rows_affected() != 1 {
        return Err(ResetError::InvalidLink);
    }
    let (user_id,): (i64,) =
        sqlx::query_as("SELECT user_id FROM password_reset_tokens WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_one(&mut *tx)
            .await
            .map_err(|_| ResetError::Storage)?;
    // The new password and the end of every open session, together.
    sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE id = $2",
    )
    .bind(&hash)
    .bind(user_id)
    .execute(&mut *tx)
    .await
    .map_err(|_| ResetError::Storage)?;
    audit(&mut *tx, Some(user_id), "password_reset", "", "", ip)
        .await
        .map_err(|_| ResetError::Storage)?;
    tx.commit().await.map_err(|_| ResetError::Storage)?;
    super::session::forget_user(user_id);
    Ok(())
}

//! Idempotency keys: every state-changing form carries a fresh key (`idempotency_key`), and
//! the first result of the action it asked for is stored under (user, key) in the action's
//! own writing transaction. A retried or doubled submission with the same key waits for
//! the first (writers are serialized, `db::write`), finds the result and answers it again
//! without acting. A key reused for a different request is refused. Keys are kept
//! [`KEPT`]; after that a resubmission is an ordinary new request, which the action's own
//! checks (made inside the same transaction) answer.
//!
//! Failed actions store nothing (their transaction rolled back), so a retry after an error
//! tries again. This module does not decide what an action does; it only remembers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::server::db::{self, Tx};

/// How long a key answers for its first result.
pub const KEPT: chrono::Duration = chrono::Duration::hours(24);

/// The form field (and server function argument) that carries the key.
pub const FIELD: &str = "idempotency_key";

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("This form was already sent with other values. Reload the page and try again.")]
    KeyReused,
    #[error("The form's idempotency key is malformed: reload the page and try again.")]
    Malformed,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One submission: who sent it, its key if the form carried one, and what it asks for.
pub struct Submission {
    user_id: i64,
    key: Option<String>,
    request: String,
}

impl Submission {
    /// `action` names the action; `inputs` are everything that decides what it does, so the
    /// same key with other inputs is recognised as a different request.
    pub fn new(
        user_id: i64,
        key: Option<&str>,
        action: &str,
        inputs: &impl Serialize,
    ) -> Result<Self, IdempotencyError> {
        let key = match key.map(str::trim) {
            None | Some("") => None,
            Some(k)
                if k.len() <= 100
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Some(k.to_string())
            }
            Some(_) => return Err(IdempotencyError::Malformed),
        };
        let json = serde_json::to_vec(inputs).unwrap_or_default();
        let hash: String = Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Submission {
            user_id,
            key,
            request: format!("{action} {hash}"),
        })
    }

    /// The keys a keyed writing transaction (`db::write_keyed`) that records this
    /// submission takes besides its own: the (user, key) row it reads and then writes.
    pub fn lock_keys(&self, mut keys: Vec<db::LockKey>) -> Vec<db::LockKey> {
        if let Some(key) = &self.key {
            keys.push(db::LockKey::submission(self.user_id, key));
        }
        keys
    }

    /// The stored first result of this submission's key, if it was answered before.
    /// Call inside the action's writing transaction, before acting.
    pub async fn replay<T: DeserializeOwned>(
        &self,
        tx: &mut Tx<'_>,
    ) -> Result<Option<T>, IdempotencyError> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT request, result FROM idempotency_keys WHERE user_id = $1 AND form_key = $2 AND created_at >= $3",
        )
        .bind(self.user_id)
        .bind(key)
        .bind(cutoff())
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            None => Ok(None),
            Some((request, _)) if request != self.request => Err(IdempotencyError::KeyReused),
            Some((_, result)) => match serde_json::from_str(&result) {
                Ok(r) => Ok(Some(r)),
                // Stored by an earlier version with another result shape: the action's own
                // checks answer instead.
                Err(_) => Ok(None),
            },
        }
    }

    /// Stores `result` as the answer to this submission's key, in the action's transaction
    /// (so it exists exactly when the action's effects do), and forgets keys past [`KEPT`].
    pub async fn record<T: Serialize>(
        &self,
        tx: &mut Tx<'_>,
        result: &T,
    ) -> Result<(), IdempotencyError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(cutoff())
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, form_key, request, result, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, form_key) DO UPDATE SET request = excluded.request, result = excluded.result, created_at = excluded.created_at",
        )
        .bind(self.user_id)
        .bind(key)
        .bind(&self.request)
        .bind(serde_json::to_string(result).unwrap_or_default())
        .bind(db::now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

fn cutoff() -> String {
    db::at(-KEPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_inputs_make_the_same_request_and_other_inputs_another() {
        let a = Submission::new(1, Some("k-1"), "acknowledge", &(7,)).unwrap();
        let b = Submission::new(1, Some("k-1"), "acknowledge", &(7,)).unwrap();
        let c = Submission::new(1, Some("k-1"), "acknowledge", &(8,)).unwrap();
        let d = Submission::new(1, Some("k-1"), "cancel", &(7,)).unwrap();
        assert_eq!(a.request, b.request);
        assert_ne!(a.request, c.request);
        assert_ne!(a.request, d.request);
    }

    #[test]
    fn keys_are_short_plain_tokens_or_absent() {
        assert!(Submission::new(1, None, "a", &()).unwrap().key.is_none());
        assert!(Submission::new(1, Some(" "), "a", &())
            .unwrap()
            .key
            .is_none());
        assert!(matches!(
            Submission::new(1, Some("a b"), "a", &()),
            Err(IdempotencyError::Malformed)
        ));
        assert!(matches!(
            Submission::new(1, Some(&"x".repeat(101)), "a", &()),
            Err(IdempotencyError::Malformed)
        ));
    }
}

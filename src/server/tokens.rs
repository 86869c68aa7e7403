//! API tokens for the machine side (`/api/v1`, issue 15): created and revoked by an
//! organisation's admin (an admin for the staff's own integrations), shown once, stored as
//! their SHA-256 (a token is 190 random bits, so a fast hash is the right one: nothing to
//! stretch), with scopes per area, an optional expiry, and the time it was last used.
//!
//! Each token acts as a technical user of its organisation (`users.kind = 'integration'`,
//! no password, no mail), so every service scopes, records and audits its actions exactly
//! as it does for a person: an answer sent by an ERP shows in the order's history as
//! "Acme ERP (API)".

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::outcome::Outcome;
use crate::server::auth::session::{user_columns, Role, UserRow};
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Db};
use crate::server::idempotency::Submission;
use crate::server::orders::ActionError;

/// What a token may do, per area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Scope {
    OrdersRead,
    OrdersWrite,
    ShipmentsRead,
    ShipmentsWrite,
    EventsRead,
    /// Send forecasts and supply recommendations (the staff's planning system only).
    PlanningWrite,
    /// Read the supplier-confirmed supply export (the staff's planning system only).
    PlanningRead,
    /// Read the buyers' exceptions (the staff's own systems only).
    ExceptionsRead,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::OrdersRead,
        Scope::OrdersWrite,
        Scope::ShipmentsRead,
        Scope::ShipmentsWrite,
        Scope::EventsRead,
        Scope::PlanningWrite,
        Scope::PlanningRead,
        Scope::ExceptionsRead,
    ];

    /// Only the staff's own integrations may have it.
    pub fn staff_only(self) -> bool {
        matches!(
            self,
            Scope::PlanningWrite | Scope::PlanningRead | Scope::ExceptionsRead
        )
    }

    /// The scopes a token of `org` may have (None: the staff's own integrations, which
    /// alone may send planning data and read the exceptions).
    pub fn offered(org: Option<i64>) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|s| org.is_none() || !s.staff_only())
            .collect()
    }

    pub fn code(self) -> &'static str {
        match self {
            Scope::OrdersRead => "orders:read",
            Scope::OrdersWrite => "orders:write",
            Scope::ShipmentsRead => "shipments:read",
            Scope::ShipmentsWrite => "shipments:write",
            Scope::EventsRead => "events:read",
            Scope::PlanningWrite => "planning:write",
            Scope::PlanningRead => "planning:read",
            Scope::ExceptionsRead => "exceptions:read",
        }
    }

    pub fn from_code(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|c| c.code() == s)
    }

    /// What the scope allows, for the page.
    pub fn label(self) -> &'static str {
        match self {
            Scope::OrdersRead => "Read orders",
            Scope::OrdersWrite => "Acknowledge and answer orders",
            Scope::ShipmentsRead => "Read shipment notices",
            Scope::ShipmentsWrite => "Submit and cancel shipment notices",
            Scope::EventsRead => "Read the event feed",
            Scope::PlanningWrite => "Send forecasts and supply recommendations",
            Scope::PlanningRead => "Read the confirmed supply and the traces for planning",
            Scope::ExceptionsRead => "Read the buyers' exceptions",
        }
    }
}

/// The prefix every token starts with (secret scanners can recognise it).
pub const TOKEN_PREFIX: &str = "mrt_";
/// Characters of a token kept to tell tokens apart (prefix included).
const SHOWN: usize = 12;
/// Longest expiry a token may be given.
pub const MAX_DAYS: i64 = 730;

/// A token as its owners see it (never its secret).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just created: its secret, shown this once.
#[derive(Clone, Debug)]
pub struct Created {
    pub outcome: Outcome,
    /// None when the request was a repeat of one that created the token already (the
    /// secret is never stored, so it cannot be shown again).
    pub secret: Option<String>,
}

/// Who calls `/api/v1`: the token's technical user, its scopes, the token.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: CurrentUser,
    pub scopes: Vec<Scope>,
    pub token_id: i64,
}

impl Caller {
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    // 32 characters of 62: about 190 bits (the modulo bias is immaterial at this length).
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{TOKEN_PREFIX}{body}")
}

/// Whose tokens `actor` manages: `Some(org)` for an organisation, `None` for the staff's
/// integrations (admins only).
pub fn owner_scope(actor: &CurrentUser, asked: Option<i64>) -> Result<Option<i64>, ActionError> {
    match actor.role {
        Role::Admin => Ok(asked),
        Role::SupplierAdmin => Ok(actor.supplier_id),
        _ => Err(ActionError::NotFound),
    }
}

/// Creates a token for `org` (None: the staff), acting as a new technical user.
#[allow(clippy::too_many_arguments)] // one form's fields
pub async fn create(
    db: &Db,
    actor: &CurrentUser,
    org: Option<i64>,
    name: &str,
    scopes: &[Scope],
    expires_in_days: Option<i64>,
    ip: &str,
    key: Option<&str>,
) -> Result<Created, ActionError> {
    let org = owner_scope(actor, org)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ActionError::Invalid(
            "Name the token after the system that uses it (at most 80 characters).".into(),
        ));
    }
    if scopes.is_empty() {
        return Err(ActionError::Invalid(
            "Tick at least one thing the token may do.".into(),
        ));
    }
    if let Some(s) = scopes.iter().find(|s| !Scope::offered(org).contains(s)) {
        return Err(ActionError::Invalid(format!(
            "A supplier's token cannot {}: that is for the staff's own systems.",
            s.label().to_lowercase()
        )));
    }
    if let Some(days) = expires_in_days {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ActionError::Invalid(format!(
                "A token expires after 1 to {MAX_DAYS} days, or never."
            )));
        }
    }
    let mut scopes = scopes.to_vec();
    scopes.sort_by_key(|s| s.code());
    scopes.dedup();
    let codes: Vec<&str> = scopes.iter().map(|s| s.code()).collect();
    let submission = Submission::new(
        actor.id,
        key,
        "create_token",
        &(org, name, &codes, expires_in_days),
    )?;
    // New rows only (the integration user and its token): keyed by the form's key alone.
    let mut tx = db::write_keyed(db, &submission.lock_keys(Vec::new())).await?;
    if let Some(first) = submission.replay::<Outcome>(&mut tx).await? {
        return Ok(Created {
            outcome: first,
            secret: None,
        });
    }
    if let Some(org) = org {
        let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM suppliers WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(ActionError::NotFound);
        }
    }
    let role = if org.is_some() {
        Role::SupplierUser
    } else {
        Role::Buyer
    };
    let email = format!(
        "integration-{}@integrations.invalid",
        uuid::Uuid::new_v4().simple()
    );
    let now = db::now();
    let (user_id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, display_name, password_hash, role, supplier_id, created_at, kind)
         VALUES ($1, $2, '', $3, $4, $5, 'integration') RETURNING id",
    )
    .bind(&email)
    .bind(format!("{name} (API)"))
    .bind(role.code())
    .bind(org)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let secret = new_secret();
    let expires_at = expires_in_days.map(|d| db::at(chrono::Duration::days(d)));
    sqlx::query(
        "INSERT INTO api_tokens (user_id, name, prefix, secret_sha256, scopes, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_id)
    .bind(name)
    .bind(&secret[..SHOWN])
    .bind(sha256_hex(&secret))
    .bind(codes.join(" "))
    .bind(actor.id)
    .bind(&now)
    .bind(&expires_at)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "api_token_created",
        &org.map_or("staff".to_string(), |o| format!("supplier:{o}")),
        &format!("{name} ({}): {}", &secret[..SHOWN], codes.join(" ")),
        ip,
    )
    .await?;
    let outcome = Outcome::done(format!(
        "Token “{name}” created. Copy it now: it is shown this once."
    ));
    // The replay answer: the outcome only, never the secret.
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(Created {
        outcome,
        secret: Some(secret),
    })
}

/// A token as its list shows it, with who created it (their email).
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    scopes: String,
    created_by: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

/// The tokens of `org` (None: the staff's), newest first.
pub async fn list(
    db: &Db,
    actor: &CurrentUser,
    org: Option<i64>,
) -> Result<Vec<TokenInfo>, ActionError> {
    let org = owner_scope(actor, org)?;
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT t.id, t.name, t.prefix, t.scopes, c.email AS created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN users c ON c.id = t.created_by
         WHERE (($1 IS NULL AND u.supplier_id IS NULL) OR u.supplier_id = $1)
         ORDER BY t.id DESC",
    )
    .bind(org)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TokenInfo {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes.split(' ').filter_map(Scope::from_code).collect(),
            created_by: r.created_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
        .collect())
}

/// Revokes a token at once (the next request with it is refused).
pub async fn revoke(
    db: &Db,
    actor: &CurrentUser,
    token_id: i64,
    ip: &str,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    let submission = Submission::new(actor.id, key, "revoke_token", &token_id)?;
    // Keyed by the form's key alone: the revocation below is conditional on the token
    // not being revoked yet, so two at once revoke it once.
    let mut tx = db::write_keyed(db, &submission.lock_keys(Vec::new())).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let row: Option<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT t.name, t.prefix, u.supplier_id, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
    )
    .bind(token_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((name, prefix, org, revoked_at)) = row else {
        return Err(ActionError::NotFound);
    };
    // Another organisation's token: as if it did not exist.
    if owner_scope(actor, org)? != org {
        return Err(ActionError::NotFound);
    }
    let already = || Outcome::already(format!("Token “{name}” was revoked already."));
    if revoked_at.is_some() {
        return Ok(already());
    }
    let revoked = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(db::now())
    .bind(actor.id)
    .bind(token_id)
    .execute(&mut *tx)
    .await?;
    if revoked.rows_affected() == 0 {
        return Ok(already());
    }
    audit(
        &mut *tx,
        Some(actor.id),
        "api_token_revoked",
        &org.map_or("staff".to_string(), |o| format!("supplier:{o}")),
        &format!("{name} ({prefix})"),
        ip,
    )
    .await?;
    let outcome = Outcome::done(format!(
        "Token “{name}” is revoked: requests with it are refused from now on."
    ));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Why a bearer token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefused {
    #[error("the token is unknown or revoked")]
    Unknown,
    #[error("the token expired on {0}")]
    Expired(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The caller a bearer token stands for. Notes the time of use (at most once a minute).
pub async fn authenticate(db: &Db, token: &str) -> Result<Caller, TokenRefused> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Err(TokenRefused::Unknown);
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        token_id: i64,
        scopes: String,
        expires_at: Option<String>,
        revoked_at: Option<String>,
        last_used_at: Option<String>,
        #[sqlx(flatten)]
        user: UserRow,
    }
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT t.id AS token_id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, ",
        user_columns!(),
        " FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN suppliers s ON s.id = u.supplier_id
         WHERE t.secret_sha256 = $1"
    ))
    .bind(sha256_hex(token))
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Err(TokenRefused::Unknown);
    };
    if row.revoked_at.is_some() || !row.user.active {
        return Err(TokenRefused::Unknown);
    }
    let now = db::now();
    if let Some(expiry) = row.expires_at.filter(|e| *e <= now) {
        return Err(TokenRefused::Expired(expiry));
    }
    if row
        .last_used_at
        .is_none_or(|t| t < db::at(-chrono::Duration::minutes(1)))
    {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(row.token_id)
            .execute(db)
            .await?;
    }
    let (token_id, scopes) = (row.token_id, row.scopes);
    Ok(Caller {
        // The API speaks UTC, whatever zone the user's pages show.
        user: row.user.signed_in(db, Some("UTC")).await?,
        scopes: scopes.split(' ').filter_map(Scope::from_code).collect(),
        token_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_long_random_and_recognisable_and_only_its_hash_is_kept() {
        let a = new_secret();
        let b = new_secret();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 32);
        assert_ne!(a, b);
        assert_eq!(sha256_hex(&a).len(), 64);
        assert_ne!(sha256_hex(&a), sha256_hex(&b));
    }

    #[test]
    fn scopes_read_back_from_their_codes() {
        for s in Scope::ALL {
            assert_eq!(Scope::from_code(s.code()), Some(s));
        }
        assert_eq!(Scope::from_code("orders:delete"), None);
    }
}

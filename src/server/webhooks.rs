//! Outbound webhooks (issue 15): subscribers (an organisation's systems, or the staff's),
//! and the delivery of events to them as durable jobs (`jobs`, kind [`KIND`]).
//!
//! Signed as the Standard Webhooks specification describes: `webhook-id` (the event's id,
//! the same on every retry), `webhook-timestamp` (Unix seconds of this attempt) and
//! `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with
//! the base64-decoded part of the `whsec_` secret; during a rotation, a second signature
//! with the previous secret). Secrets are sealed at rest and shown once.
//!
//! At least once, in order per order: every job of one subscriber and one order shares an
//! ordering key. A 2xx is a delivery; anything else is retried with backoff until the
//! attempts run out (then a dead letter, replayable from the page). A subscriber that fails
//! `webhook_pause_after` times in a row (or answers 410 Gone) is paused and its owners are
//! mailed; its jobs wait, and resume when someone resumes it. Redirects are not followed, and
//! unless `MILLRACE_WEBHOOK_ALLOW_PRIVATE` is set, nothing is sent to loopback or private
//! addresses (checked when saved and again, resolved, before each attempt).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::outcome::Outcome;
use crate::server::auth::session::CurrentUser;
use crate::server::auth::users::audit;
use crate::server::db::{self, Db, Tx};
use crate::server::events;
use crate::server::idempotency::Submission;
use crate::server::jobs;
use crate::server::orders::ActionError;
use crate::server::secrets::{Sealed, SealingKeys};

/// The job kind of one event's delivery to one subscriber.
pub const KIND: &str = "webhook";
/// What every secret starts with (as the specification's libraries expect).
pub const SECRET_PREFIX: &str = "whsec_";
/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// Longest wait for a receiver's answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

fn sealing_context(id: i64) -> String {
    format!("webhook_subscriptions.secret:{id}")
}

/// A fresh secret: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", B64.encode(bytes))
}

/// The `v1,<base64>` signature of one message under `secret`.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = B64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// A subscriber as its owners see it (never its secret).
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// Event type codes; empty means all.
    pub event_types: Vec<String>,
    /// active, paused
    pub state: String,
    pub paused_reason: Option<String>,
    pub consecutive_failures: i64,
    pub created_at: String,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    /// Until when the previous secret still signs (a rotation in progress).
    pub previous_until: Option<String>,
    /// Deliveries waiting, and dead letters.
    pub pending: i64,
    pub dead: i64,
}

/// One attempt in a subscriber's delivery log.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Attempt {
    pub at: String,
    pub message_id: String,
    pub event_type: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery that gave up, for replay.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadDelivery {
    pub job_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// A subscriber just created or its secret just rotated: the secret, shown this once.
#[derive(Clone, Debug)]
pub struct WithSecret {
    pub outcome: Outcome,
    /// None when the request repeated one that did it already (the secret is not kept in
    /// the clear, so it cannot be shown again).
    pub secret: Option<String>,
}

/// What a webhook job carries: the exact body, so every retry sends the same bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    subscription_id: i64,
    message_id: String,
    event_type: String,
    body: String,
}

/// Whether `ip` is loopback, private, link-local or otherwise not on the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Checks a receiver URL as typed: absolute http(s), https unless the address is local, no
/// credentials or fragment, and (unless allowed) no private or loopback address literal.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| {
        "Give the receiver's full address, e.g. https://erp.example.com/hooks/millrace.".to_string()
    })?;
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        None => return Err("The address has no host.".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        "http" => return Err("Webhooks go over https (http only to a local receiver).".into()),
        _ => return Err("The address must start with https://.".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "Leave credentials out of the address: receivers check the signature instead.".into(),
        );
    }
    if url.fragment().is_some() {
        return Err("The address cannot have a #fragment.".into());
    }
    if local && !allow_private {
        return Err(
            "That address is on a private or loopback network, which this portal does not send to."
                .into(),
        );
    }
    Ok(url)
}

fn check_types(org: Option<i64>, types: &[String]) -> Result<Vec<String>, ActionError> {
    let mut out = Vec::new();
    for t in types {
        match events::event_type(t) {
            Some(e) if !(e.staff_only && org.is_some()) => out.push(e.code.to_string()),
            _ => {
                return Err(ActionError::Invalid(format!(
                    "“{t}” is not an event type you can subscribe to."
                )))
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn sealing(keys: Option<&SealingKeys>) -> Result<&SealingKeys, ActionError> {
    keys.ok_or_else(|| {
        ActionError::Invalid(
            "Webhook secrets are stored sealed, and this server has no MILLRACE_SECRET_KEY: ask the operator to set one.".into(),
        )
    })
}

/// The subscriber `id` if `actor` manages it (inside `tx`): its owner organisation.
async fn owned(tx: &mut Tx<'_>, actor: &CurrentUser, id: i64) -> Result<Option<i64>, ActionError> {
    let row: Option<(Option<i64>,)> = sqlx::query_as(
        "SELECT supplier_id FROM webhook_subscriptions WHERE id = $1 AND state <> 'deleted'",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((org,)) = row else {
        return Err(ActionError::NotFound);
    };
    // Who may manage it: the same rule as for tokens, asked for its own owner.
    if crate::server::tokens::owner_scope(actor, org)? != org {
        return Err(ActionError::NotFound);
    }
    Ok(org)
}

/// Creates a subscriber of `org` (None: the staff's).
#[allow(clippy::too_many_arguments)] // one form's fields
pub async fn create(
    db: &Db,
    keys: Option<&SealingKeys>,
    allow_private: bool,
    actor: &CurrentUser,
    org: Option<i64>,
    name: &str,
    url: &str,
    types: &[String],
    ip: &str,
    key: Option<&str>,
) -> Result<WithSecret, ActionError> {
    let org = crate::server::tokens::owner_scope(actor, org)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ActionError::Invalid(
            "Name the subscriber after the system that receives (at most 80 characters).".into(),
        ));
    }
    let url = check_url(url, allow_private).map_err(ActionError::Invalid)?;
    let types = check_types(org, types)?;
    let keys = sealing(keys)?;
    let submission = Submission::new(
        actor.id,
        key,
        "create_webhook",
        &(org, name, url.as_str(), &types),
    )?;
    // New rows only (the subscription, its audit entry): the form's key alone.
    let mut tx = db::write_keyed(db, &submission.lock_keys(Vec::new())).await?;
    if let Some(first) = submission.replay::<Outcome>(&mut tx).await? {
        return Ok(WithSecret {
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
    let secret = insert(&mut tx, keys, org, name, url.as_str(), &types, actor.id).await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "webhook_created",
        &org.map_or("staff".to_string(), |o| format!("supplier:{o}")),
        &format!(
            "{name} → {url} ({})",
            if types.is_empty() {
                "all events".to_string()
            } else {
                types.join(" ")
            }
        ),
        ip,
    )
    .await?;
    let outcome = Outcome::done(format!(
        "Subscriber “{name}” created. Copy its signing secret now: it is shown this once."
    ));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(WithSecret {
        outcome,
        secret: Some(secret),
    })
}

/// Stores a subscriber (checked already) with a fresh sealed secret; the secret.
pub async fn insert(
    tx: &mut Tx<'_>,
    keys: &SealingKeys,
    org: Option<i64>,
    name: &str,
    url: &str,
    types: &[String],
    created_by: i64,
) -> Result<String, sqlx::Error> {
    let secret = new_secret();
    // The row first (its id is part of the sealing context), sealed right after.
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO webhook_subscriptions (supplier_id, name, url, event_types, secret_key_id, secret_nonce, secret_sealed, created_by, created_at)
         VALUES ($1, $2, $3, $4, '', '', '', $5, $6) RETURNING id",
    )
    .bind(org)
    .bind(name)
    .bind(url)
    .bind(if types.is_empty() {
        "*".to_string()
    } else {
        types.join(" ")
    })
    .bind(created_by)
    .bind(db::now())
    .fetch_one(&mut **tx)
    .await?;
    let sealed = keys.seal(&secret, &sealing_context(id));
    sqlx::query("UPDATE webhook_subscriptions SET secret_key_id = $1, secret_nonce = $2, secret_sealed = $3 WHERE id = $4")
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(secret)
}

/// A new secret for subscriber `id`; the previous one signs too for another day.
pub async fn rotate(
    db: &Db,
    keys: Option<&SealingKeys>,
    actor: &CurrentUser,
    id: i64,
    ip: &str,
    key: Option<&str>,
) -> Result<WithSecret, ActionError> {
    let keys = sealing(keys)?;
    let submission = Submission::new(actor.id, key, "rotate_webhook_secret", &id)?;
    let mut tx = db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::webhook(id)])).await?;
    if let Some(first) = submission.replay::<Outcome>(&mut tx).await? {
        return Ok(WithSecret {
            outcome: first,
            secret: None,
        });
    }
    owned(&mut tx, actor, id).await?;
    let secret = new_secret();
    let sealed = keys.seal(&secret, &sealing_context(id));
    sqlx::query(
        "UPDATE webhook_subscriptions SET previous_key_id = secret_key_id, previous_nonce = secret_nonce, previous_sealed = secret_sealed,
             previous_until = $1, secret_key_id = $2, secret_nonce = $3, secret_sealed = $4 WHERE id = $5",
    )
    .bind(db::at(chrono::Duration::hours(ROTATION_OVERLAP_HOURS)))
    .bind(&sealed.key_id)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "webhook_secret_rotated",
        &format!("webhook:{id}"),
        "",
        ip,
    )
    .await?;
    let outcome = Outcome::done(format!(
        "New signing secret. Copy it now: it is shown this once. Messages carry a signature with the old one too for {ROTATION_OVERLAP_HOURS} hours."
    ));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(WithSecret {
        outcome,
        secret: Some(secret),
    })
}

/// What an owner may do to a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Pause,
    Resume,
    Delete,
}

pub async fn change(
    db: &Db,
    actor: &CurrentUser,
    id: i64,
    change: Change,
    ip: &str,
) -> Result<Outcome, ActionError> {
    let mut tx = db::write_keyed(db, &[db::LockKey::webhook(id)]).await?;
    owned(&mut tx, actor, id).await?;
    let (sql, wanted, done, already) = match change {
        Change::Pause => (
            "UPDATE webhook_subscriptions SET state = 'paused', paused_reason = $2 WHERE id = $1 AND state = 'active'",
            "paused",
            "Paused: events wait until you resume it.",
            "It was paused already.",
        ),
        Change::Resume => (
            "UPDATE webhook_subscriptions SET state = 'active', paused_reason = NULL, consecutive_failures = 0 WHERE id = $1 AND state = 'paused' AND $2 <> ''",
            "active",
            "Resumed: waiting events go out now.",
            "It was active already.",
        ),
        Change::Delete => (
            "UPDATE webhook_subscriptions SET state = 'deleted' WHERE id = $1 AND state <> 'deleted' AND $2 <> ''",
            "deleted",
            "Deleted: nothing more is sent to it.",
            "It was deleted already.",
        ),
    };
    let r = sqlx::query(sql)
        .bind(id)
        .bind(format!("paused by {}", actor.display_name))
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() == 0 {
        return Ok(Outcome::already(already));
    }
    match change {
        // What waited goes out now.
        Change::Resume => {
            sqlx::query("UPDATE jobs SET next_attempt_at = $1 WHERE kind = $2 AND state = 'pending' AND ordering_key LIKE $3")
                .bind(db::now())
                .bind(KIND)
                .bind(format!("webhook:{id}:%"))
                .execute(&mut *tx)
                .await?;
        }
        // Nothing more goes out: what waited is discarded.
        Change::Delete => {
            sqlx::query("UPDATE jobs SET state = 'discarded', done_at = $1 WHERE kind = $2 AND state IN ('pending', 'dead') AND ordering_key LIKE $3")
                .bind(db::now())
                .bind(KIND)
                .bind(format!("webhook:{id}:%"))
                .execute(&mut *tx)
                .await?;
        }
        Change::Pause => {}
    }
    audit(
        &mut *tx,
        Some(actor.id),
        &format!("webhook_{wanted}"),
        &format!("webhook:{id}"),
        "",
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::done(done))
}

/// Queues a `webhook.test` event for subscriber `id` alone (not in the feed).
/// A repeat of the same request (`key`) queues nothing more.
pub async fn send_test(
    db: &Db,
    actor: &CurrentUser,
    id: i64,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    let submission = Submission::new(actor.id, key, "webhook_test", &id)?;
    // The subscription's key: its test deliveries share one ordering key, so they are
    // queued one transaction at a time (their ids in commit order).
    let mut tx = db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::webhook(id)])).await?;
    if let Some(first) = submission.replay::<Outcome>(&mut tx).await? {
        return Ok(first);
    }
    owned(&mut tx, actor, id).await?;
    let message_id = format!("evt_test_{}", uuid::Uuid::new_v4().simple());
    let event = crate::server::canonical::Event {
        id: message_id.clone(),
        kind: "webhook.test".into(),
        occurred_at: crate::server::canonical::utc(chrono::Utc::now().naive_utc()),
        correlation_id: None,
        data: crate::server::canonical::EventData {
            order: None,
            summary: format!("A test event sent by {}", actor.display_name),
            planning: None,
        },
    };
    queue(
        &mut tx,
        id,
        &format!("webhook:{id}:test"),
        &message_id,
        &event,
        None,
    )
    .await?;
    let outcome = Outcome::done("Test event queued: it shows in the delivery log within seconds.");
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn queue(
    tx: &mut Tx<'_>,
    subscription_id: i64,
    ordering_key: &str,
    message_id: &str,
    event: &crate::server::canonical::Event,
    correlation_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let body = serde_json::to_string(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let payload = serde_json::to_string(&Payload {
        subscription_id,
        message_id: message_id.to_string(),
        event_type: event.kind.clone(),
        body,
    })
    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    jobs::enqueue(tx, KIND, ordering_key, &payload, correlation_id).await?;
    Ok(())
}

/// Queues event `event_id` for every subscriber that wants it, in the event's transaction.
pub async fn fan_out(
    tx: &mut Tx<'_>,
    event: &crate::server::canonical::Event,
    supplier_id: Option<i64>,
    staff_only: bool,
    order_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    let subscribers: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, supplier_id, event_types FROM webhook_subscriptions WHERE state <> 'deleted' AND (supplier_id IS NULL OR supplier_id = $1)",
    )
    .bind(supplier_id.unwrap_or(-1))
    .fetch_all(&mut **tx)
    .await?;
    for (id, owner, types) in subscribers {
        if owner.is_some() && staff_only {
            continue;
        }
        if types != "*" && !types.split(' ').any(|t| t == event.kind) {
            continue;
        }
        let key = match order_id {
            Some(o) => format!("webhook:{id}:order:{o}"),
            None => format!("webhook:{id}:event:{}", event.id),
        };
        queue(
            tx,
            id,
            &key,
            &event.id,
            event,
            event.correlation_id.as_deref(),
        )
        .await?;
    }
    Ok(())
}

/// A subscriber as its list shows it.
#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    name: String,
    url: String,
    event_types: String,
    state: String,
    paused_reason: Option<String>,
    consecutive_failures: i64,
    created_at: String,
    last_success_at: Option<String>,
    last_failure_at: Option<String>,
    previous_until: Option<String>,
}

/// The subscribers of `org` (None: the staff's), newest first.
pub async fn list(
    db: &Db,
    actor: &CurrentUser,
    org: Option<i64>,
) -> Result<Vec<Subscription>, ActionError> {
    let org = crate::server::tokens::owner_scope(actor, org)?;
    let rows: Vec<SubscriptionRow> = sqlx::query_as(
        "SELECT id, name, url, event_types, state, paused_reason, consecutive_failures, created_at, last_success_at, last_failure_at, previous_until
         FROM webhook_subscriptions WHERE state <> 'deleted' AND (($1 IS NULL AND supplier_id IS NULL) OR supplier_id = $1) ORDER BY id DESC",
    )
    .bind(org)
    .fetch_all(db)
    .await?;
    let now = db::now();
    let mut out = Vec::with_capacity(rows.len());
    for SubscriptionRow {
        id,
        name,
        url,
        event_types: types,
        state,
        paused_reason,
        consecutive_failures: failures,
        created_at,
        last_success_at: ok_at,
        last_failure_at: failed_at,
        previous_until,
    } in rows
    {
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM jobs WHERE kind = $1 AND ordering_key LIKE $2 AND state IN ('pending', 'dead') GROUP BY state",
        )
        .bind(KIND)
        .bind(format!("webhook:{id}:%"))
        .fetch_all(db)
        .await?;
        let count = |s: &str| counts.iter().find(|c| c.0 == s).map_or(0, |c| c.1);
        out.push(Subscription {
            id,
            name,
            url,
            event_types: if types == "*" {
                Vec::new()
            } else {
                types.split(' ').map(String::from).collect()
            },
            state,
            paused_reason,
            consecutive_failures: failures,
            created_at,
            last_success_at: ok_at,
            last_failure_at: failed_at,
            previous_until: previous_until.filter(|u| *u > now),
            pending: count("pending"),
            dead: count("dead"),
        });
    }
    Ok(out)
}

/// The latest attempts to deliver to subscriber `id`, newest first.
pub async fn attempts(
    db: &Db,
    actor: &CurrentUser,
    id: i64,
    limit: i64,
) -> Result<Vec<Attempt>, ActionError> {
    let mut tx = db.begin().await?;
    owned(&mut tx, actor, id).await?;
    Ok(sqlx::query_as(
        "SELECT at, message_id, event_type, status_code, error, duration_ms FROM webhook_attempts WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit.clamp(1, 200))
    .fetch_all(&mut *tx)
    .await?)
}

/// Subscriber `id`'s dead letters, oldest first.
pub async fn dead_letters(
    db: &Db,
    actor: &CurrentUser,
    id: i64,
) -> Result<Vec<DeadDelivery>, ActionError> {
    let mut tx = db.begin().await?;
    owned(&mut tx, actor, id).await?;
    let rows: Vec<(i64, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, payload, attempts, last_error FROM jobs WHERE kind = $1 AND state = 'dead' AND ordering_key LIKE $2 ORDER BY id LIMIT 200",
    )
    .bind(KIND)
    .bind(format!("webhook:{id}:%"))
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(job_id, payload, attempts, last_error)| {
            let p: Option<Payload> = serde_json::from_str(&payload).ok();
            DeadDelivery {
                job_id,
                message_id: p.as_ref().map(|p| p.message_id.clone()).unwrap_or_default(),
                event_type: p.map(|p| p.event_type).unwrap_or_default(),
                attempts,
                last_error,
            }
        })
        .collect())
}

/// Sends subscriber `id`'s dead letters again, in their order.
pub async fn replay(
    db: &Db,
    actor: &CurrentUser,
    id: i64,
    ip: &str,
) -> Result<Outcome, ActionError> {
    let mut tx = db::write_keyed(db, &[db::LockKey::webhook(id)]).await?;
    owned(&mut tx, actor, id).await?;
    let r = sqlx::query(
        "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, done_at = NULL
         WHERE kind = $2 AND state = 'dead' AND ordering_key LIKE $3",
    )
    .bind(db::now())
    .bind(KIND)
    .bind(format!("webhook:{id}:%"))
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(Outcome::already("No dead letters to send again."));
    }
    audit(
        &mut *tx,
        Some(actor.id),
        "webhook_replayed",
        &format!("webhook:{id}"),
        &format!("{} deliveries", r.rows_affected()),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::done(format!(
        "{} deliveries queued again, in their order.",
        r.rows_affected()
    )))
}

/// Delivers webhook jobs.
pub struct Deliverer {
    pub db: Db,
    pub keys: Option<SealingKeys>,
    pub http: reqwest::Client,
    pub pause_after: i64,
    pub allow_private: bool,
}

/// Where a subscriber's deliveries go and the sealed secrets that sign them (the previous
/// one while a rotation is in progress).
#[derive(sqlx::FromRow)]
struct DeliveryTarget {
    url: String,
    state: String,
    secret_key_id: String,
    secret_nonce: String,
    secret_sealed: String,
    previous_key_id: Option<String>,
    previous_nonce: Option<String>,
    previous_sealed: Option<String>,
    previous_until: Option<String>,
}

impl Deliverer {
    pub fn new(db: Db, settings: &crate::server::settings::Settings) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Millrace-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            db,
            keys: settings.sealing.clone(),
            http,
            pause_after: settings.webhook_pause_after.max(1),
            allow_private: settings.webhook_allow_private,
        })
    }

    async fn deliver(&self, job: &jobs::Job) -> Result<jobs::Outcome, sqlx::Error> {
        let p: Payload = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => {
                return Ok(jobs::Outcome::Dead {
                    why: format!("unreadable job: {e}"),
                })
            }
        };
        let sub: Option<DeliveryTarget> = sqlx::query_as(
            "SELECT url, state, secret_key_id, secret_nonce, secret_sealed, previous_key_id, previous_nonce, previous_sealed, previous_until
             FROM webhook_subscriptions WHERE id = $1",
        )
        .bind(p.subscription_id)
        .fetch_optional(&self.db)
        .await?;
        let Some(DeliveryTarget {
            url,
            state,
            secret_key_id: key_id,
            secret_nonce: nonce,
            secret_sealed: sealed,
            previous_key_id: prev_key,
            previous_nonce: prev_nonce,
            previous_sealed: prev_sealed,
            previous_until: prev_until,
        }) = sub
        else {
            return Ok(jobs::Outcome::Dead {
                why: "the subscriber no longer exists".into(),
            });
        };
        match state.as_str() {
            "deleted" => return Ok(jobs::Outcome::Done),
            "paused" => return Ok(jobs::Outcome::NotNow(Duration::from_secs(30))),
            _ => {}
        }
        let Some(keys) = &self.keys else {
            return Ok(jobs::Outcome::Retry {
                why: "no MILLRACE_SECRET_KEY on this instance to open the signing secret".into(),
                after: None,
            });
        };
        let context = sealing_context(p.subscription_id);
        let mut secrets = Vec::new();
        match keys.open(
            &Sealed {
                key_id,
                nonce,
                ciphertext: sealed,
            },
            &context,
        ) {
            Ok(s) => secrets.push(s),
            Err(e) => {
                return Ok(jobs::Outcome::Retry {
                    why: format!("signing secret: {e}"),
                    after: None,
                })
            }
        }
        if let (Some(k), Some(n), Some(c), Some(until)) =
            (prev_key, prev_nonce, prev_sealed, prev_until)
        {
            if until > db::now() {
                if let Ok(s) = keys.open(
                    &Sealed {
                        key_id: k,
                        nonce: n,
                        ciphertext: c,
                    },
                    &context,
                ) {
                    secrets.push(s);
                }
            }
        }
        let started = Instant::now();
        let result = self.send(&url, &p, &secrets).await;
        let elapsed = started.elapsed();
        metrics::histogram!(crate::server::telemetry::WEBHOOK_DELIVERY_SECONDS)
            .record(elapsed.as_secs_f64());
        let (status, error, retry_after) = match &result {
            Ok((status, retry_after)) => (Some(*status as i64), None, *retry_after),
            Err(e) => (None, Some(e.clone()), None),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        // Keyed on nothing: the attempt is a new row, the counters move by one statement
        // each (`RETURNING` tells exactly one delivery that it reached the pause), and the
        // pause itself is conditional (`AND state = 'active'`). Deliveries are the frequent
        // writer here; they need not wait for a planning import.
        let mut tx = db::write_keyed(&self.db, &[]).await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (subscription_id, job_id, message_id, event_type, at, status_code, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(p.subscription_id)
        .bind(job.id)
        .bind(&p.message_id)
        .bind(&p.event_type)
        .bind(db::now())
        .bind(status)
        .bind(&error)
        .bind(elapsed.as_millis() as i64)
        .execute(&mut *tx)
        .await?;
        if ok {
            sqlx::query("UPDATE webhook_subscriptions SET consecutive_failures = 0, last_success_at = $1 WHERE id = $2")
                .bind(db::now())
                .bind(p.subscription_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(jobs::Outcome::Done);
        }
        let why = match (status, &error) {
            (Some(410), _) => "the receiver answered 410 Gone".to_string(),
            (Some(s), _) => format!("the receiver answered {s}"),
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".into(),
        };
        let (failures,): (i64,) = sqlx::query_as(
            "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1, last_failure_at = $1 WHERE id = $2 RETURNING consecutive_failures",
        )
        .bind(db::now())
        .bind(p.subscription_id)
        .fetch_one(&mut *tx)
        .await?;
        if status == Some(410) || failures == self.pause_after {
            let reason = if status == Some(410) {
                why.clone()
            } else {
                format!("{failures} failed attempts in a row (last: {why})")
            };
            pause_and_tell(&mut tx, p.subscription_id, &reason).await?;
        }
        tx.commit().await?;
        Ok(jobs::Outcome::Retry {
            why,
            after: retry_after,
        })
    }

    /// One POST; the status and any `Retry-After`, or why there was none.
    async fn send(
        &self,
        url: &str,
        p: &Payload,
        secrets: &[crate::server::settings::Secret],
    ) -> Result<(u16, Option<Duration>), String> {
        let parsed = check_url(url, true)?;
        if !self.allow_private {
            let host = parsed
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_string();
            let port = parsed.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?;
            for a in addrs {
                if is_private(a.ip()) {
                    return Err(format!("{host} resolves to a private address ({}), which this portal does not send to", a.ip()));
                }
            }
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signatures: Vec<String> = secrets
            .iter()
            .filter_map(|s| sign(s.expose(), &p.message_id, timestamp, &p.body))
            .collect();
        let answer = self
            .http
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &p.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(p.body.clone())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                } else if e.is_connect() {
                    "could not connect to the receiver".to_string()
                } else {
                    "the request failed".to_string()
                }
            })?;
        let retry_after = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(3600)));
        Ok((answer.status().as_u16(), retry_after))
    }
}

/// Pauses the subscriber and mails its owners (an organisation's admins, or the portal's
/// admins for the staff's subscribers), in the caller's transaction.
async fn pause_and_tell(tx: &mut Tx<'_>, id: i64, reason: &str) -> Result<(), sqlx::Error> {
    let r = sqlx::query("UPDATE webhook_subscriptions SET state = 'paused', paused_reason = $1 WHERE id = $2 AND state = 'active'")
        .bind(reason)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if r.rows_affected() == 0 {
        return Ok(());
    }
    let (name, url, org): (String, String, Option<i64>) =
        sqlx::query_as("SELECT name, url, supplier_id FROM webhook_subscriptions WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    let owners: Vec<(String,)> = match org {
        Some(o) => sqlx::query_as("SELECT email FROM users WHERE supplier_id = $1 AND role = 'supplier_admin' AND active = TRUE AND kind = 'person'")
            .bind(o)
            .fetch_all(&mut **tx)
            .await?,
        None => sqlx::query_as("SELECT email FROM users WHERE role = 'admin' AND active = TRUE AND kind = 'person'")
            .fetch_all(&mut **tx)
            .await?,
    };
    let subject = format!("Webhook “{name}” paused");
    let body = format!(
        "Millrace stopped sending events to “{name}” ({url}): {reason}.\n\nNothing is lost: events wait for it. Fix the receiver, then resume it on the webhooks page; waiting events go out in their order.\n"
    );
    for (to,) in owners {
        crate::server::notify::queue(tx, &to, &subject, &body).await?;
    }
    audit(
        &mut **tx,
        None,
        "webhook_paused",
        &format!("webhook:{id}"),
        reason,
        "",
    )
    .await?;
    tracing::warn!(subscription = id, reason, "webhook subscriber paused");
    Ok(())
}

impl jobs::Handler for Deliverer {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, job: &'a jobs::Job) -> BoxFuture<'a, jobs::Outcome> {
        Box::pin(async move {
            self.deliver(job)
                .await
                .unwrap_or_else(|e| jobs::Outcome::Retry {
                    why: format!("database: {e}"),
                    after: None,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_specifications_example() {
        // The example of the Standard Webhooks specification (and its libraries' tests).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn receivers_on_private_networks_are_refused_unless_allowed() {
        assert!(check_url("https://erp.example.com/hooks", false).is_ok());
        for private in [
            "http://127.0.0.1:9000/x",
            "https://10.1.2.3/x",
            "https://192.168.0.4/x",
            "https://169.254.169.254/latest",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "http://localhost/x",
            "https://100.64.0.1/x",
        ] {
            assert!(check_url(private, false).is_err(), "{private}");
        }
        assert!(check_url("http://127.0.0.1:9000/x", true).is_ok());
        assert!(
            check_url("http://erp.example.com/x", true).is_err(),
            "plain http to a public host"
        );
        assert!(check_url("ftp://erp.example.com/x", true).is_err());
        assert!(check_url("https://user:pw@erp.example.com/x", true).is_err());
    }
}

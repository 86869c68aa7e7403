//! Portal → Odoo. Every supplier action that must reach Odoo is written here in the same
//! transaction as the action (an `outbox_messages` row: what to do, and what came of it),
//! with an `odoo.outbox` job (`server::jobs`) that delivers it through [`Deliverer`]: leased,
//! retried with capped exponential backoff and jitter, dead-lettered on permanent errors or
//! after N attempts, delivered in order per purchase order (the job's ordering key), and
//! idempotent (Odoo's state is read before each write, and chatter notes carry the
//! correlation id, so a re-delivery after a crash between "Odoo wrote" and "we marked it
//! done" changes nothing twice).

use std::sync::Arc;
use std::time::Duration;

use crate::server::db::Tx;
use crate::server::jobs;
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;

use crate::server::db::{self, Db};
use crate::server::odoo::error::ServerErrorKind;
use crate::server::odoo::fields::{Optional, PURCHASE_ORDER, PURCHASE_ORDER_LINE};
use crate::server::odoo::value::{decimal, text};
use crate::server::odoo::{OdooClient, OdooError, Retry};
use crate::server::order_events;

/// What must happen in Odoo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxAction {
    /// Set `acknowledged` on the order and post a chatter note.
    Acknowledge {
        order_odoo_id: i64,
        order_name: String,
        user: String,
        at: String,
    },
    /// Write an accepted date and/or quantity on a line, if the line is still as the supplier saw it.
    UpdateLine {
        order_odoo_id: i64,
        line_odoo_id: i64,
        /// New `date_planned` (naive UTC), if it changes.
        date_planned: Option<String>,
        /// New `product_qty`, if it changes. Quantities are stored in the payload as
        /// normalized strings; one that does not parse fails to decode.
        product_qty: Option<Decimal>,
        seen_date: Option<String>,
        seen_quantity: Decimal,
        user: String,
        reason: String,
    },
    /// A chatter note only (a proposal or rejection waiting for the buyer).
    Note { order_odoo_id: i64, text: String },
    /// Prefill the order's open receipt with what the shipment notices announce (cumulative
    /// for the order): scheduled date, carrier tracking, quantities and lot names on the
    /// move lines. Never validated: the warehouse validates on arrival.
    AsnPrefill {
        order_odoo_id: i64,
        notices: Vec<String>,
        expected_arrival: Option<String>,
        tracking_ref: String,
        lines: Vec<PrefillLine>,
        note: String,
    },
    /// Set the order's vendor reference (`partner_ref`) to the supplier's own, if it differs.
    SetVendorReference {
        order_odoo_id: i64,
        order_name: String,
        /// Empty clears it.
        reference: String,
        user: String,
    },
    /// Attach an uploaded document to the order's open receipt (or to the order when there
    /// is none) as an `ir.attachment`.
    Attach {
        order_odoo_id: i64,
        name: String,
        mimetype: String,
        sha256: String,
        document_id: i64,
    },
}

impl OutboxAction {
    /// Whether delivering this action needs the stored file of an uploaded document.
    fn document(&self) -> Option<&str> {
        match self {
            OutboxAction::Attach { sha256, .. } => Some(sha256),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrefillLine {
    pub line_odoo_id: i64,
    /// Announced in total; zero puts Odoo's own default (the demand, no lot) back. Stored
    /// in the message's payload as its normalized string (`"12.5"`): a payload whose
    /// quantity does not parse fails to decode, never reads as zero.
    pub quantity: Decimal,
    pub lot_names: Vec<String>,
}

impl OutboxAction {
    pub fn order_odoo_id(&self) -> i64 {
        match self {
            OutboxAction::Acknowledge { order_odoo_id, .. }
            | OutboxAction::UpdateLine { order_odoo_id, .. }
            | OutboxAction::Note { order_odoo_id, .. }
            | OutboxAction::AsnPrefill { order_odoo_id, .. }
            | OutboxAction::SetVendorReference { order_odoo_id, .. }
            | OutboxAction::Attach { order_odoo_id, .. } => *order_odoo_id,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            OutboxAction::Acknowledge { .. } => "acknowledge",
            OutboxAction::UpdateLine { .. } => "update_line",
            OutboxAction::Note { .. } => "note",
            OutboxAction::AsnPrefill { .. } => "asn_prefill",
            OutboxAction::Attach { .. } => "attach_document",
            OutboxAction::SetVendorReference { .. } => VENDOR_REFERENCE_KIND,
        }
    }
}

/// The outbox kind of [`OutboxAction::SetVendorReference`] (the poller keeps the supplier's
/// reference while one is pending).
pub const VENDOR_REFERENCE_KIND: &str = "vendor_reference";

pub fn new_correlation_id() -> String {
    format!("mr-{}", uuid::Uuid::new_v4().simple())
}

/// The job kind that carries outbox messages (`server::jobs`).
pub const JOB_KIND: &str = "odoo.outbox";

/// The jobs of one purchase order run one at a time, in the order they were queued.
fn ordering_key(order_odoo_id: i64) -> String {
    format!("odoo.order:{order_odoo_id}")
}

/// Stores a message inside the caller's transaction, with the durable job that delivers it
/// (`server::jobs`, keyed by the purchase order: an order's messages reach Odoo in order).
pub async fn enqueue(
    tx: &mut Tx<'_>,
    correlation_id: &str,
    action: &OutboxAction,
) -> Result<i64, sqlx::Error> {
    let job = jobs::enqueue(
        tx,
        JOB_KIND,
        &ordering_key(action.order_odoo_id()),
        &json!({ "correlation_id": correlation_id }).to_string(),
        Some(correlation_id),
    )
    .await?;
    let r: (i64,) = sqlx::query_as(
        "INSERT INTO outbox_messages (correlation_id, order_odoo_id, kind, payload, job_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(correlation_id)
    .bind(action.order_odoo_id())
    .bind(action.kind())
    .bind(serde_json::to_string(action).expect("outbox actions serialize"))
    .bind(job)
    .bind(db::now())
    .fetch_one(&mut **tx)
    .await?;
    Ok(r.0)
}

pub use crate::server::jobs::RetryPolicy;

/// An outbox message as its delivery reads it.
#[derive(Debug, sqlx::FromRow)]
struct Message {
    id: i64,
    correlation_id: String,
    payload: String,
    status: String,
    last_error: Option<String>,
}

/// The outcome of one delivery.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Odoo's order no longer matches what the supplier answered: a buyer must decide.
    /// `odoo_now`: for a line, what Odoo holds now (JSON `{date_planned, product_qty}`), so
    /// applying the supplier's answer over it aims at that, not at a stale copy.
    Conflict {
        why: String,
        odoo_now: Option<String>,
    },
}

impl Outcome {
    pub fn conflict(why: impl Into<String>) -> Self {
        Outcome::Conflict {
            why: why.into(),
            odoo_now: None,
        }
    }
}

/// Delivers `odoo.outbox` jobs: the [`jobs::Handler`] of the Odoo outbox. The jobs worker
/// claims, leases, orders and retries; this applies the message to Odoo and records what
/// came of it on the message and in its order's history, under the job's lease, in one
/// transaction keyed by the order. A conflict or a dead letter leaves the job dead, which
/// holds the order's later messages until a buyer decides ([`replay`], [`discard`],
/// `conflicts::resolve`).
pub struct Deliverer {
    pub db: Db,
    /// The current Odoo client; nothing is claimed while there is none.
    pub odoo: crate::server::odoo::OdooLink,
    pub retry: RetryPolicy,
    /// Where uploaded documents are stored (for `Attach`).
    pub upload_dir: std::path::PathBuf,
    /// How long one delivery may take: under half the jobs' lease, so that its outcome is
    /// recorded before the worker cuts the run off.
    pub budget: Duration,
}

impl jobs::Handler for Deliverer {
    fn kind(&self) -> &'static str {
        JOB_KIND
    }
    fn claim_size(&self) -> usize {
        50
    }
    fn retry(&self) -> Option<RetryPolicy> {
        Some(self.retry)
    }
    fn ready(&self) -> bool {
        self.odoo.client().is_some()
    }
    fn run<'a>(&'a self, job: &'a jobs::Job) -> BoxFuture<'a, jobs::Outcome> {
        Box::pin(async move {
            self.run_job(job).await.unwrap_or_else(|e| {
                // The portal's own database failed, not the delivery: tried again without
                // counting an attempt, so the message cannot end dead with its status
                // still saying pending.
                tracing::error!(error = %e, "outbox bookkeeping failed");
                jobs::Outcome::NotNow(Duration::from_secs(5))
            })
        })
    }
}

/// A jobs worker that runs only the Odoo outbox (tests, and tools that deliver alone); the
/// server registers a [`Deliverer`] on its one jobs worker instead.
pub struct Worker {
    pub db: Db,
    pub odoo: crate::server::odoo::OdooLink,
    pub retry: RetryPolicy,
    pub upload_dir: std::path::PathBuf,
    pub health: Arc<crate::server::telemetry::Health>,
    pub wake: Arc<Notify>,
    /// How long a claimed job stays claimed: a worker that dies mid-delivery leaves its
    /// lease to expire, and another takes the job over.
    pub lease: Duration,
    /// Which instance this worker belongs to: the first part of its lease tokens.
    pub instance: String,
    pub clock: crate::server::clock::Clock,
}

impl Worker {
    fn jobs(&self) -> jobs::Worker {
        let mut w = jobs::Worker::new(
            self.db.clone(),
            self.instance.clone(),
            self.clock.clone(),
            self.wake.clone(),
        )
        .with(Arc::new(Deliverer {
            db: self.db.clone(),
            odoo: self.odoo.clone(),
            retry: self.retry,
            upload_dir: self.upload_dir.clone(),
            budget: self.lease * 2 / 5,
        }));
        w.retry = self.retry;
        w.lease = self.lease;
        w.health = Some(self.health.clone());
        w
    }

    /// Delivers what is due, oldest first, one message per order at a time. Returns how
    /// many messages it handled.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        self.jobs().run_once().await
    }
}

/// Runs until `shutdown` resolves (see [`Worker`]).
pub async fn run_worker(worker: Worker, shutdown: tokio::sync::watch::Receiver<bool>) {
    jobs::run(worker.jobs(), shutdown).await
}

impl Deliverer {
    async fn run_job(&self, job: &jobs::Job) -> Result<jobs::Outcome, sqlx::Error> {
        let Some(odoo) = self.odoo.client() else {
            return Ok(jobs::Outcome::NotNow(Duration::from_secs(1)));
        };
        let m: Option<Message> = sqlx::query_as(
            "SELECT id, correlation_id, payload, status, last_error FROM outbox_messages WHERE job_id = $1",
        )
        .bind(job.id)
        .fetch_optional(&self.db)
        .await?;
        let Some(m) = m else {
            return Ok(jobs::Outcome::Dead {
                why: "its outbox message is gone".into(),
            });
        };
        match m.status.as_str() {
            "pending" => {}
            // Recorded by an earlier run whose own outcome was lost, or taken off the
            // queue by a buyer meanwhile: nothing to send.
            "delivered" | "discarded" => return Ok(jobs::Outcome::Done),
            _ => {
                return Ok(jobs::Outcome::Dead {
                    why: m.last_error.unwrap_or_else(|| m.status.clone()),
                })
            }
        }
        // On earlier settings than those in force (an API key being rotated), Odoo
        // refusing the key is this instance's lag, not the message's fault.
        let stale = !self.odoo.is_current();
        settle(
            &self.db,
            &odoo,
            job,
            m,
            self.retry,
            &self.upload_dir,
            self.budget,
            stale,
        )
        .await
    }
}

/// What a lost lease comes to: nothing recorded here, and the job is left to whoever holds
/// it now (which finds this write in Odoo, delivery being idempotent, and records it).
fn lease_lost() -> jobs::Outcome {
    tracing::warn!("lease lost during delivery; the new holder records the outcome");
    jobs::Outcome::Retry {
        why: "lease lost during delivery".into(),
        after: None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn settle(
    db: &Db,
    odoo: &OdooClient,
    job: &jobs::Job,
    m: Message,
    retry: RetryPolicy,
    upload_dir: &std::path::Path,
    budget: Duration,
    stale: bool,
) -> Result<jobs::Outcome, sqlx::Error> {
    let attempts = job.attempts as u32 + 1;
    let action: OutboxAction = match serde_json::from_str(&m.payload) {
        Ok(a) => a,
        Err(e) => {
            let why = format!("unreadable message: {e}");
            return mark_dead(db, job, &m, attempts as i64, &why, None).await;
        }
    };
    let span =
        tracing::info_span!("deliver", correlation_id = %m.correlation_id, kind = action.kind());
    let _enter = span.enter();
    let file = match action.document() {
        Some(sha) => match tokio::fs::read(upload_dir.join(sha)).await {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                let why = format!("the uploaded file is missing from the upload directory: {e}");
                let detail = format!("{} could not be written to Odoo: {why}", action.kind());
                return mark_dead(db, job, &m, attempts as i64, &why, Some((&action, &detail)))
                    .await;
            }
        },
        None => None,
    };
    let delivery = tokio::time::timeout(
        budget,
        deliver(odoo, &m.correlation_id, &action, file.as_deref()),
    )
    .await
    .unwrap_or(Err(OdooError::Timeout));
    match delivery {
        Ok(Outcome::Delivered) => {
            metrics::counter!(crate::server::telemetry::OUTBOX_DELIVERIES, "outcome" => "delivered").increment(1);
            let mut tx = outcome_tx(db, Some(&action)).await?;
            if !jobs::still_held(&mut tx, job).await? {
                return Ok(lease_lost());
            }
            sqlx::query("UPDATE outbox_messages SET status = 'delivered', attempts = $1, delivered_at = $2, last_error = NULL WHERE id = $3 AND status = 'pending'")
                .bind(attempts as i64)
                .bind(db::now())
                .bind(m.id)
                .execute(&mut *tx)
                .await?;
            // What the portal wrote is remembered on the line, so the poller does not take
            // it for the buyer's change when it reads it back (the portal's copy itself
            // stays as last read: a poll that read Odoo before this write must not
            // look like a change either).
            if let OutboxAction::UpdateLine {
                line_odoo_id,
                date_planned,
                product_qty,
                ..
            } = &action
            {
                sqlx::query("UPDATE purchase_order_lines SET written_date_planned = COALESCE($1, written_date_planned), written_quantity = COALESCE($2, written_quantity) WHERE odoo_id = $3")
                    .bind(date_planned)
                    .bind(product_qty.map(|q| q.normalize().to_string()))
                    .bind(line_odoo_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let OutboxAction::SetVendorReference { reference, .. } = &action {
                crate::server::order_document::remember_written_reference(
                    &mut tx,
                    action.order_odoo_id(),
                    reference,
                )
                .await?;
            }
            if let Some(order_id) =
                order_events::order_id_for_odoo(&mut tx, action.order_odoo_id()).await?
            {
                order_events::record_event(
                    &mut tx,
                    order_id,
                    None,
                    "delivered_to_odoo",
                    &format!("{} reached Odoo (attempt {attempts})", action.kind()),
                    Some(&m.correlation_id),
                )
                .await?;
            }
            tx.commit().await?;
            tracing::info!(attempts, "delivered to odoo");
            Ok(jobs::Outcome::Done)
        }
        Ok(Outcome::Conflict { why, odoo_now }) => {
            metrics::counter!(crate::server::telemetry::OUTBOX_DELIVERIES, "outcome" => "conflict")
                .increment(1);
            let mut tx = outcome_tx(db, Some(&action)).await?;
            if !jobs::still_held(&mut tx, job).await? {
                return Ok(lease_lost());
            }
            sqlx::query("UPDATE outbox_messages SET status = 'conflict', attempts = $1, last_error = $2, conflict_odoo_now = $3 WHERE id = $4 AND status = 'pending'")
                .bind(attempts as i64)
                .bind(&why)
                .bind(&odoo_now)
                .bind(m.id)
                .execute(&mut *tx)
                .await?;
            if let Some(order_id) =
                order_events::order_id_for_odoo(&mut tx, action.order_odoo_id()).await?
            {
                order_events::record_event(
                    &mut tx,
                    order_id,
                    None,
                    "conflict",
                    &why,
                    Some(&m.correlation_id),
                )
                .await?;
            }
            tx.commit().await?;
            tracing::warn!(reason = %why, "odoo changed since the supplier answered; held for a buyer");
            // Dead to the jobs: it holds the order's later messages until a buyer decides.
            Ok(jobs::Outcome::Dead {
                why: format!("held for a buyer: {why}"),
            })
        }
        Err(e)
            if (e.retry() == Retry::Transient
                || (stale && e.kind() == Some(ServerErrorKind::AccessDenied)))
                && attempts < retry.max_attempts =>
        {
            metrics::counter!(crate::server::telemetry::OUTBOX_DELIVERIES, "outcome" => "retry")
                .increment(1);
            let mut wait = retry.delay(attempts);
            if let OdooError::RateLimited {
                retry_after: Some(after),
            } = &e
            {
                wait = wait.max(*after);
            }
            let next =
                db::at(chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60)));
            let mut tx = outcome_tx(db, Some(&action)).await?;
            if !jobs::still_held(&mut tx, job).await? {
                return Ok(lease_lost());
            }
            sqlx::query("UPDATE outbox_messages SET attempts = $1, last_error = $2 WHERE id = $3 AND status = 'pending'")
                .bind(attempts as i64)
                .bind(e.to_string())
                .bind(m.id)
                .execute(&mut *tx)
                .await?;
            attempt_event(
                &mut tx,
                &action,
                &m.correlation_id,
                &format!(
                    "{} did not reach Odoo (attempt {attempts}: {e}); next try at {next} UTC",
                    action.kind()
                ),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(error = %e, attempts, "odoo delivery failed, will retry");
            Ok(jobs::Outcome::Retry {
                why: e.to_string(),
                after: Some(wait),
            })
        }
        Err(e) => {
            metrics::counter!(crate::server::telemetry::OUTBOX_DELIVERIES, "outcome" => "dead")
                .increment(1);
            let reason = if e.retry() == Retry::Permanent {
                format!("odoo refused: {e}")
            } else {
                format!("gave up after {attempts} attempts: {e}")
            };
            let detail = format!(
                "{} could not be written to Odoo (attempt {attempts}: {reason}); the buyer's team is told",
                action.kind()
            );
            let outcome = mark_dead(
                db,
                job,
                &m,
                attempts as i64,
                &reason,
                Some((&action, &detail)),
            )
            .await?;
            tracing::error!(error = %e, attempts, "odoo delivery dead-lettered");
            Ok(outcome)
        }
    }
}

/// The transaction that records a delivery's outcome: it decides on the message, its
/// order's lines, header and history, so it is keyed by that order
/// (`order_events::write_for_odoo_order`); an unreadable action takes `db::write`.
async fn outcome_tx(db: &Db, action: Option<&OutboxAction>) -> Result<Tx<'static>, sqlx::Error> {
    match action {
        Some(a) => order_events::write_for_odoo_order(db, a.order_odoo_id()).await,
        None => db::write(db).await,
    }
}

/// One delivery attempt that did not go through, in the order's history.
async fn attempt_event(
    tx: &mut Tx<'_>,
    action: &OutboxAction,
    correlation_id: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    if let Some(order_id) = order_events::order_id_for_odoo(tx, action.order_odoo_id()).await? {
        order_events::record_event(
            tx,
            order_id,
            None,
            "delivery_failed",
            detail,
            Some(correlation_id),
        )
        .await?;
    }
    Ok(())
}

/// Dead-letters the message (only under the job's lease) and, when its action is known,
/// records the failure in its order's history with the `delivery.dead_lettered` event, all
/// in one transaction.
async fn mark_dead(
    db: &Db,
    job: &jobs::Job,
    m: &Message,
    attempts: i64,
    reason: &str,
    action: Option<(&OutboxAction, &str)>,
) -> Result<jobs::Outcome, sqlx::Error> {
    let mut tx = outcome_tx(db, action.map(|(a, _)| a)).await?;
    if !jobs::still_held(&mut tx, job).await? {
        return Ok(lease_lost());
    }
    sqlx::query("UPDATE outbox_messages SET status = 'dead', attempts = $1, last_error = $2 WHERE id = $3 AND status = 'pending'")
        .bind(attempts)
        .bind(reason)
        .bind(m.id)
        .execute(&mut *tx)
        .await?;
    if let Some((action, detail)) = action {
        attempt_event(&mut tx, action, &m.correlation_id, detail).await?;
        if let Some(order_id) =
            order_events::order_id_for_odoo(&mut tx, action.order_odoo_id()).await?
        {
            crate::server::events::for_order(
                &mut tx,
                order_id,
                "delivery_dead",
                &format!("{}: {reason}", action.kind()),
                Some(&m.correlation_id),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(jobs::Outcome::Dead {
        why: reason.to_string(),
    })
}
/// Posts `text` on the order's chatter with the correlation id, unless a note carrying
/// that id is there already (a re-delivery after a lost reply).
pub(crate) async fn post_note_once(
    odoo: &OdooClient,
    order_odoo_id: i64,
    correlation_id: &str,
    text: &str,
) -> Result<(), OdooError> {
    super::prefill::post_once(
        odoo,
        PURCHASE_ORDER,
        order_odoo_id,
        correlation_id,
        &format!("{text} [Millrace ref {correlation_id}]"),
    )
    .await
}

/// Applies one action to Odoo so that applying it twice changes nothing more.
pub async fn deliver(
    odoo: &OdooClient,
    correlation_id: &str,
    action: &OutboxAction,
    file: Option<&[u8]>,
) -> Result<Outcome, OdooError> {
    match action {
        OutboxAction::Acknowledge {
            order_odoo_id,
            order_name,
            user,
            at,
        } => {
            // Odoo 17 has no `acknowledged` field: there the acknowledgment is the note.
            let flag = odoo.caps.supports(Optional::AcknowledgedFlag);
            let fields: &[&str] = if flag {
                &["state", "acknowledged"]
            } else {
                &["state"]
            };
            let order = odoo.read(PURCHASE_ORDER, &[*order_odoo_id], fields).await?;
            let Some(order) = order.first() else {
                return Ok(Outcome::conflict(format!(
                    "{order_name} no longer exists in Odoo"
                )));
            };
            if text(order.get("state")).as_deref() == Some("cancel") {
                return Ok(Outcome::conflict(format!(
                    "{order_name} was cancelled in Odoo before the acknowledgment arrived"
                )));
            }
            if flag && order.get("acknowledged") != Some(&json!(true)) {
                odoo.write(
                    PURCHASE_ORDER,
                    &[*order_odoo_id],
                    json!({"acknowledged": true}),
                )
                .await?;
            }
            post_note_once(
                odoo,
                *order_odoo_id,
                correlation_id,
                &format!("Acknowledged by {user} in the supplier portal at {at} UTC."),
            )
            .await?;
            Ok(Outcome::Delivered)
        }
        OutboxAction::UpdateLine {
            order_odoo_id,
            line_odoo_id,
            date_planned,
            product_qty,
            seen_date,
            seen_quantity,
            user,
            reason,
        } => {
            let line = odoo
                .read(
                    PURCHASE_ORDER_LINE,
                    &[*line_odoo_id],
                    &["date_planned", "product_qty", "name"],
                )
                .await?;
            let Some(line) = line.first() else {
                return Ok(Outcome::conflict(
                    "the line was removed in Odoo after the supplier answered",
                ));
            };
            let current_date = text(line.get("date_planned"));
            let current_q = decimal(line.get("product_qty"));
            let seen_q = *seen_quantity;
            let target_q = *product_qty;
            // Each field must be as the supplier saw it, or already as wanted (a re-delivery).
            let date_ok = match date_planned {
                Some(d) => {
                    current_date.as_deref() == Some(d.as_str()) || current_date == *seen_date
                }
                None => true,
            };
            let qty_ok = match target_q {
                Some(q) => current_q == q || current_q == seen_q,
                None => current_q == seen_q || date_planned.is_none(),
            };
            if !date_ok || !qty_ok {
                return Ok(Outcome::Conflict {
                    why: format!(
                        "line changed in Odoo after the supplier answered: now {} on {}, the supplier saw {} on {}",
                        current_q.normalize(),
                        current_date.as_deref().unwrap_or("no date"),
                        seen_q.normalize(),
                        seen_date.as_deref().unwrap_or("no date"),
                    ),
                    odoo_now: Some(
                        json!({"date_planned": current_date, "product_qty": current_q.normalize().to_string()})
                            .to_string(),
                    ),
                });
            }
            let mut vals = serde_json::Map::new();
            if let Some(d) = date_planned {
                if current_date.as_deref() != Some(d.as_str()) {
                    vals.insert("date_planned".into(), json!(d));
                }
            }
            if let Some(q) = target_q {
                if current_q != q {
                    vals.insert(
                        "product_qty".into(),
                        json!(q.to_string().parse::<f64>().unwrap_or_default()),
                    );
                }
            }
            if !vals.is_empty() {
                odoo.write(
                    PURCHASE_ORDER_LINE,
                    &[*line_odoo_id],
                    serde_json::Value::Object(vals),
                )
                .await?;
            }
            let name = text(line.get("name")).unwrap_or_default();
            let mut what = Vec::new();
            if let Some(d) = date_planned {
                what.push(format!("date {d} UTC"));
            }
            if let Some(q) = product_qty {
                what.push(format!("quantity {q}"));
            }
            post_note_once(
                odoo,
                *order_odoo_id,
                correlation_id,
                &format!("{user}: \"{name}\" now {}: {reason}", what.join(" and ")),
            )
            .await?;
            Ok(Outcome::Delivered)
        }
        OutboxAction::Note {
            order_odoo_id,
            text,
        } => {
            post_note_once(odoo, *order_odoo_id, correlation_id, text).await?;
            Ok(Outcome::Delivered)
        }
        OutboxAction::AsnPrefill {
            order_odoo_id,
            notices,
            expected_arrival,
            tracking_ref,
            lines,
            note,
        } => {
            use super::prefill::{self, Prefilled};
            let done = prefill::prefill_receipt(
                odoo,
                *order_odoo_id,
                correlation_id,
                expected_arrival.as_deref(),
                tracking_ref,
                lines,
            )
            .await?;
            let text = match done {
                Prefilled::Impossible(why) => return Ok(Outcome::conflict(why)),
                Prefilled::Receipt if notices.is_empty() => note.clone(),
                Prefilled::Receipt => {
                    format!("{note}; receipt prefilled from {}", notices.join(", "))
                }
                // No Inventory in this Odoo: the buyer reads the notice in the chatter.
                Prefilled::NoteOnly => format!(
                    "{note}; {}{}{}. No receipt was prefilled: this Odoo has no Inventory app.",
                    if notices.is_empty() {
                        "no notice open".to_string()
                    } else {
                        notices.join(", ")
                    },
                    expected_arrival
                        .as_deref()
                        .map(|a| format!(", expected {a} UTC"))
                        .unwrap_or_default(),
                    match prefill::describe_lines(odoo, lines).await? {
                        d if d.is_empty() => String::new(),
                        d => format!(", carrier {tracking_ref}: {d}"),
                    },
                ),
            };
            post_note_once(odoo, *order_odoo_id, correlation_id, &text).await?;
            Ok(Outcome::Delivered)
        }
        OutboxAction::SetVendorReference {
            order_odoo_id,
            order_name,
            reference,
            user,
        } => {
            crate::server::order_document::deliver_vendor_reference(
                odoo,
                correlation_id,
                *order_odoo_id,
                order_name,
                reference,
                user,
            )
            .await
        }
        OutboxAction::Attach {
            order_odoo_id,
            name,
            mimetype,
            ..
        } => {
            let Some(bytes) = file else {
                return Ok(Outcome::conflict("the uploaded file is not available"));
            };
            super::prefill::attach_document(
                odoo,
                *order_odoo_id,
                correlation_id,
                name,
                mimetype,
                bytes,
            )
            .await?;
            Ok(Outcome::Delivered)
        }
    }
}

/// A dead letter, for the buyer and admin screens.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub correlation_id: String,
    pub order_odoo_id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

pub async fn dead_letters(db: &Db) -> Result<Vec<DeadLetter>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, correlation_id, order_odoo_id, kind, status, attempts, last_error, created_at FROM outbox_messages WHERE status IN ('dead', 'conflict') ORDER BY id",
    )
    .fetch_all(db)
    .await
}

/// Puts a dead letter (or a message held in conflict) back in line for delivery, in its
/// place in its order's queue.
pub async fn replay(tx: &mut Tx<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE outbox_messages SET status = 'pending', attempts = 0 WHERE id = $1 AND status IN ('dead', 'conflict')",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 1 {
        job_follows(tx, id).await?;
    }
    Ok(r.rows_affected() == 1)
}

/// Gives up on a dead letter for good (the reason goes in the audit log).
pub async fn discard(tx: &mut Tx<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE outbox_messages SET status = 'discarded' WHERE id = $1 AND status IN ('dead', 'conflict')")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if r.rows_affected() == 1 {
        job_follows(tx, id).await?;
    }
    Ok(r.rows_affected() == 1)
}

/// After a buyer put a held message back in line (status `pending`) or took it off
/// (`discarded`): its job follows, so the order's queue goes on. A job still running is
/// left alone (its run finds the message's new status).
pub async fn job_follows(tx: &mut Tx<'_>, message_id: i64) -> Result<(), sqlx::Error> {
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT status, job_id FROM outbox_messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((status, Some(job))) = row else {
        return Ok(());
    };
    match status.as_str() {
        "pending" => {
            sqlx::query(
                "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, done_at = NULL, last_error = NULL
                 WHERE id = $2 AND state <> 'pending'",
            )
            .bind(db::now())
            .bind(job)
            .execute(&mut **tx)
            .await?;
        }
        "discarded" => {
            sqlx::query(
                "UPDATE jobs SET state = 'discarded', lease_until = NULL, done_at = $1 WHERE id = $2 AND state = 'dead'",
            )
            .bind(db::now())
            .bind(job)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

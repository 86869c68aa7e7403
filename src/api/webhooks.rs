//! Webhook subscribers on `/webhooks`: an organisation's admin manages its own systems'
//! subscriptions, an admin the staff's. Created with the signing secret shown once; paused,
//! resumed, deleted, the secret rotated, a test event sent, the delivery log read and dead
//! letters sent again.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;
use crate::domain::outcome::Outcome;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// Labels of the event types; empty: all.
    pub event_types: Vec<String>,
    pub state: String,
    pub paused_reason: Option<String>,
    pub consecutive_failures: i64,
    pub created_at: String,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    pub rotating_until: Option<String>,
    pub pending: i64,
    pub dead: i64,
    pub attempts: Vec<AttemptView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: String,
    pub message_id: String,
    pub event_type: String,
    /// The receiver's status code, or why there was none.
    pub result: String,
    pub ok: bool,
    pub duration_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhooksView {
    /// Whose subscribers these are ("the staff" or the organisation's name).
    pub owner: String,
    pub subscriptions: Vec<SubscriptionView>,
    /// (form field, label) of each event type one may choose.
    pub types: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WithSecret {
    pub message: String,
    /// Shown once; None when the request repeated one that did it already.
    pub secret: Option<String>,
}

/// The form field of an event type: its code with `_` for `.`.
pub fn type_field(code: &str) -> String {
    code.replace('.', "_")
}

/// Whose subscribers the user manages: their organisation (supplier admins) or the
/// staff's (admins); anyone else may not.
#[cfg(feature = "ssr")]
fn owner(user: &crate::server::auth::CurrentUser) -> Result<Option<i64>, AppError> {
    use crate::server::auth::session::Role;
    match user.role {
        Role::SupplierAdmin => Ok(user.supplier_id),
        Role::Admin => Ok(None),
        _ => Err(super::context::forbidden()),
    }
}

#[cfg(feature = "ssr")]
fn refused(e: crate::server::orders::ActionError) -> AppError {
    super::context::action(e, "No such subscriber among yours.")
}

#[server(endpoint = "webhooks/list", input = GetUrl)]
pub async fn webhooks() -> Result<WebhooksView, AppError> {
    use super::context;
    use crate::server::{events, webhooks};
    let user = context::user()?;
    let state = context::state()?;
    let org = owner(&user)?;
    let subs = webhooks::list(&state.db, &user, org)
        .await
        .map_err(refused)?;
    let clock = user.clock();
    let stamp = |s: &str| clock.datetime(s);
    let label = |code: &str| {
        events::event_type(code).map_or(code.to_string(), |t| format!("{} ({code})", t.label))
    };
    let mut subscriptions = Vec::with_capacity(subs.len());
    for s in subs {
        let attempts = webhooks::attempts(&state.db, &user, s.id, 20)
            .await
            .map_err(refused)?;
        subscriptions.push(SubscriptionView {
            id: s.id,
            name: s.name,
            url: s.url,
            event_types: s.event_types.iter().map(|c| label(c)).collect(),
            state: s.state,
            paused_reason: s.paused_reason,
            consecutive_failures: s.consecutive_failures,
            created_at: stamp(&s.created_at),
            last_success_at: s.last_success_at.as_deref().map(stamp),
            last_failure_at: s.last_failure_at.as_deref().map(stamp),
            rotating_until: s.previous_until.as_deref().map(stamp),
            pending: s.pending,
            dead: s.dead,
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    at: stamp(&a.at),
                    ok: a.status_code.is_some_and(|c| (200..300).contains(&c)),
                    result: match (a.status_code, a.error) {
                        (Some(c), _) => c.to_string(),
                        (None, Some(e)) => e,
                        (None, None) => "no answer".into(),
                    },
                    message_id: a.message_id,
                    event_type: a.event_type,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        });
    }
    Ok(WebhooksView {
        owner: user
            .supplier_name
            .clone()
            .unwrap_or_else(|| "the buyer's staff".into()),
        subscriptions,
        types: events::TYPES
            .iter()
            .filter(|t| t.code != "webhook.test" && (org.is_none() || !t.staff_only))
            .map(|t| (type_field(t.code), format!("{} ({})", t.label, t.code)))
            .collect(),
    })
}

/// Event types are checkboxes (present when ticked); none ticked means every type.
#[allow(clippy::too_many_arguments)] // one argument per field of the form
#[server(endpoint = "webhooks/create")]
pub async fn create_webhook(
    csrf_token: String,
    name: String,
    url: String,
    order_released: Option<String>,
    order_changed: Option<String>,
    order_cancelled: Option<String>,
    order_acknowledged: Option<String>,
    order_line_answered: Option<String>,
    order_proposal_decided: Option<String>,
    shipment_notice_submitted: Option<String>,
    shipment_notice_cancelled: Option<String>,
    document_attached: Option<String>,
    receipt_booked: Option<String>,
    receipt_discrepancy: Option<String>,
    delivery_dead_lettered: Option<String>,
    idempotency_key: Option<String>,
) -> Result<WithSecret, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    let org = owner(&user)?;
    let ticked = [
        (order_released, "order.released"),
        (order_changed, "order.changed"),
        (order_cancelled, "order.cancelled"),
        (order_acknowledged, "order.acknowledged"),
        (order_line_answered, "order.line_answered"),
        (order_proposal_decided, "order.proposal_decided"),
        (shipment_notice_submitted, "shipment_notice.submitted"),
        (shipment_notice_cancelled, "shipment_notice.cancelled"),
        (document_attached, "document.attached"),
        (receipt_booked, "receipt.booked"),
        (receipt_discrepancy, "receipt.discrepancy"),
        (delivery_dead_lettered, "delivery.dead_lettered"),
    ];
    let types: Vec<String> = ticked
        .into_iter()
        .filter(|(v, _)| v.is_some())
        .map(|(_, code)| code.to_string())
        .collect();
    let created = crate::server::webhooks::create(
        &state.db,
        state.settings.sealing.as_ref(),
        state.settings.webhook_allow_private,
        &user,
        org,
        &name,
        &url,
        &types,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(refused)?;
    Ok(WithSecret {
        message: created.outcome.message,
        secret: created.secret,
    })
}

#[server(endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(
    csrf_token: String,
    subscription_id: i64,
    idempotency_key: Option<String>,
) -> Result<WithSecret, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    owner(&user)?;
    let rotated = crate::server::webhooks::rotate(
        &state.db,
        state.settings.sealing.as_ref(),
        &user,
        subscription_id,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(refused)?;
    Ok(WithSecret {
        message: rotated.outcome.message,
        secret: rotated.secret,
    })
}

/// `action`: pause, resume, delete, test or replay.
#[server(endpoint = "webhooks/act")]
pub async fn act_on_webhook(
    csrf_token: String,
    subscription_id: i64,
    action: String,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    use crate::server::webhooks::{self, Change};
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    owner(&user)?;
    let ip = context::client_ip();
    let db = &state.db;
    let done = match action.as_str() {
        "pause" => webhooks::change(db, &user, subscription_id, Change::Pause, &ip).await,
        "resume" => webhooks::change(db, &user, subscription_id, Change::Resume, &ip).await,
        "delete" => webhooks::change(db, &user, subscription_id, Change::Delete, &ip).await,
        "test" => webhooks::send_test(db, &user, subscription_id, idempotency_key.as_deref()).await,
        "replay" => webhooks::replay(db, &user, subscription_id, &ip).await,
        _ => {
            return Err(context::invalid(
                "Choose pause, resume, delete, test or replay.",
            ))
        }
    }
    .map_err(refused)?;
    state.wake_jobs();
    Ok(done)
}

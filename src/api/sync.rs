//! Write-backs to Odoo that could not be applied (dead letters and conflicts): list, replay,
//! discard with a reason. Buyers and admins only; every replay and discard is audited.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    pub correlation_id: String,
    pub order_name: Option<String>,
    pub supplier_name: Option<String>,
    pub kind: String,
    /// dead (Odoo refused, or gave up retrying) or conflict (Odoo changed since the supplier answered)
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at: String,
}

#[server(endpoint = "sync/dead-letters", input = GetUrl)]
pub async fn list_dead_letters() -> Result<Vec<DeadLetterView>, AppError> {
    use super::context;
    context::internal_user()?;
    let state = context::state()?;
    crate::server::exceptions::sync_problems(&state.db, &Default::default())
        .await
        .map_err(context::internal)
}

#[server(endpoint = "sync/replay")]
pub async fn replay_dead_letter(csrf_token: String, id: i64) -> Result<(), AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::internal_user()?;
    let state = context::state()?;
    if !crate::server::sync::outbox::replay(&state.db, id)
        .await
        .map_err(context::internal)?
    {
        return Err(context::not_found(
            "No such dead letter (it may have been replayed or discarded already).",
        ));
    }
    crate::server::auth::users::audit(
        &state.db,
        Some(user.id),
        "outbox_replay",
        &format!("outbox:{id}"),
        "",
        &context::client_ip(),
    )
    .await;
    state.outbox_wake.notify_one();
    Ok(())
}

#[server(endpoint = "sync/discard")]
pub async fn discard_dead_letter(
    csrf_token: String,
    id: i64,
    reason: String,
) -> Result<(), AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::internal_user()?;
    let state = context::state()?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(context::invalid(
            "Give a reason for discarding: it goes in the audit log.",
        ));
    }
    if !crate::server::sync::outbox::discard(&state.db, id)
        .await
        .map_err(context::internal)?
    {
        return Err(context::not_found(
            "No such dead letter (it may have been replayed or discarded already).",
        ));
    }
    crate::server::auth::users::audit(
        &state.db,
        Some(user.id),
        "outbox_discard",
        &format!("outbox:{id}"),
        reason,
        &context::client_ip(),
    )
    .await;
    Ok(())
}

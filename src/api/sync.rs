//! Write-backs to Odoo that could not be applied (dead letters and conflicts): list, replay,
//! discard with a reason. Buyers and admins only; every replay and discard is audited.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::domain::outcome::Outcome;
use crate::model::sync::DeadLetterView;

#[server(endpoint = "sync/dead-letters", input = GetUrl)]
pub async fn list_dead_letters() -> Result<Vec<DeadLetterView>, AppError> {
    use super::context;
    let user = context::internal_user()?;
    let state = context::state()?;
    // A buyer limited to some companies sees only theirs.
    let scope = crate::server::exceptions::Scope {
        companies: user.companies,
        ..Default::default()
    };
    crate::server::exceptions::sync_problems(&state.db, &scope)
        .await
        .map_err(context::internal)
}

#[server(endpoint = "sync/replay")]
pub async fn replay_dead_letter(
    csrf_token: String,
    id: i64,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    let _ = csrf_token; // checked by the request guard before this runs
    settle(id, DeadLetter::Replay, "", idempotency_key).await
}

#[server(endpoint = "sync/discard")]
pub async fn discard_dead_letter(
    csrf_token: String,
    id: i64,
    reason: String,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    let _ = csrf_token; // checked by the request guard before this runs
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(super::context::invalid(
            "Give a reason for discarding: it goes in the audit log.",
        ));
    }
    settle(id, DeadLetter::Discard, reason, idempotency_key).await
}

#[cfg(feature = "ssr")]
use crate::server::exceptions::DeadLetterAction as DeadLetter;

#[cfg(feature = "ssr")]
async fn settle(
    id: i64,
    action: DeadLetter,
    reason: &str,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    let user = context::internal_user()?;
    let state = context::state()?;
    match crate::server::exceptions::settle_dead_letter(
        &state.db,
        &user,
        id,
        action,
        reason,
        idempotency_key.as_deref(),
        &context::client_ip(),
    )
    .await
    {
        Ok(outcome) => {
            state.wake_jobs();
            Ok(outcome)
        }
        Err(e) => Err(context::action(
            e,
            "No such dead letter (it may have been replayed or discarded already).",
        )),
    }
}

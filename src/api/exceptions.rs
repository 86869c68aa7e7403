//! The buyer's exceptions: late acknowledgments, proposals awaiting a decision, write-backs
//! to Odoo that could not be applied. Buyers and admins only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::model::exceptions::ExceptionsView;

/// `supplier`: a supplier id, `buyer`: a purchase representative's name; empty for all.
#[server(endpoint = "buyer/exceptions", input = GetUrl)]
pub async fn exceptions(supplier: String, buyer: String) -> Result<ExceptionsView, AppError> {
    use super::context;
    let user = context::internal_user()?;
    let state = context::state()?;
    let scope = crate::server::exceptions::Scope {
        supplier: supplier.trim().parse::<i64>().ok(),
        buyer: Some(buyer.trim().to_string()).filter(|b| !b.is_empty()),
        plans: user.plans(),
        companies: user.companies,
    };
    crate::server::exceptions::page(
        &state.db,
        &scope,
        crate::server::exceptions::Windows::of(&state.settings),
    )
    .await
    .map_err(context::internal)
}

/// `decision` is `approve` or `reject`; a rejection needs a reason the supplier will read.
#[server(endpoint = "buyer/decide")]
pub async fn decide_proposal(
    csrf_token: String,
    line_id: i64,
    decision: String,
    reason: Option<String>,
    idempotency_key: Option<String>,
) -> Result<crate::domain::outcome::Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::internal_user()?;
    let state = context::state()?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(context::invalid(format!(
                "Unknown decision “{other}”: approve or reject."
            )))
        }
    };
    match crate::server::exceptions::decide(
        &state.db,
        &user,
        line_id,
        approve,
        reason.as_deref().unwrap_or_default(),
        idempotency_key.as_deref(),
    )
    .await
    {
        Ok(outcome) => {
            state.wake_jobs();
            Ok(outcome)
        }
        Err(e) => Err(context::action(e, "No proposal waits on this line.")),
    }
}

/// `resolution`: `apply` (the supplier's answer over Odoo's version), `ask_again` (keep
/// Odoo's version; the supplier answers again) or `keep_answers` (Odoo's change needs no
/// new answer).
#[server(endpoint = "buyer/resolve-conflict")]
pub async fn resolve_conflict(
    csrf_token: String,
    key: String,
    resolution: String,
    idempotency_key: Option<String>,
) -> Result<crate::domain::outcome::Outcome, AppError> {
    use super::context;
    use crate::server::conflicts::{self, Resolution};
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::internal_user()?;
    let state = context::state()?;
    let Some(how) = Resolution::parse(&resolution) else {
        return Err(context::invalid(
            "Choose how to resolve: apply the supplier's answer, ask the supplier again, or keep the supplier's answers.",
        ));
    };
    match conflicts::resolve(
        &state.db,
        &user,
        &key,
        how,
        &state.settings.public_url,
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
            "This conflict is not open any more (someone may have resolved it).",
        )),
    }
}

//! The buyer's exceptions: late acknowledgments, proposals awaiting a decision, write-backs
//! to Odoo that could not be applied. Buyers and admins only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::sync::DeadLetterView;
use super::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LateAcknowledgment {
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub released_at: String,
    pub age_hours: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingProposal {
    pub line_id: i64,
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub description: String,
    pub quantity: String,
    pub uom: String,
    pub date_planned: Option<String>,
    pub proposed_date: Option<String>,
    pub proposed_quantity: Option<String>,
    pub reason: String,
    /// proposal_pending, or rejected (the supplier cannot deliver the line)
    pub answer: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtRiskDelivery {
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub description: String,
    pub open_quantity: String,
    pub requested: String,
    pub why: String,
}

/// A line whose validated receipt does not match what shipment notices announced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptDiscrepancy {
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub line_id: i64,
    pub description: String,
    /// short, over, without_notice or different_lots
    pub kind: String,
    pub detail: String,
}

/// A supplier's answer against what Odoo holds now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// `message:<id>` (a write-back that met a changed order) or `order:<id>` (an order
    /// Odoo changed after the supplier answered).
    pub key: String,
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    /// write_back or changed_in_odoo
    pub kind: String,
    pub summary: String,
    /// Since when (naive UTC).
    pub since: String,
    /// The write-back's correlation id.
    pub reference: Option<String>,
    pub lines: Vec<ConflictLine>,
    /// The supplier's answer can be applied over Odoo's version (a line's date or quantity).
    pub can_apply: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictLine {
    pub description: String,
    /// What the supplier answered.
    pub supplier: String,
    /// What Odoo holds now.
    pub odoo: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionsView {
    pub late_acknowledgments: Vec<LateAcknowledgment>,
    pub proposals: Vec<PendingProposal>,
    pub at_risk: Vec<AtRiskDelivery>,
    pub discrepancies: Vec<ReceiptDiscrepancy>,
    pub sync_problems: Vec<DeadLetterView>,
    pub conflicts: Vec<Conflict>,
    pub suppliers: Vec<SupplierChoice>,
    /// Purchase representatives named on orders, for the buyer filter.
    pub buyers: Vec<String>,
}

/// `supplier`: a supplier id, `buyer`: a purchase representative's name; empty for all.
#[server(endpoint = "buyer/exceptions", input = GetUrl)]
pub async fn exceptions(supplier: String, buyer: String) -> Result<ExceptionsView, AppError> {
    use super::context;
    let user = context::internal_user()?;
    let state = context::state()?;
    let scope = crate::server::exceptions::Scope {
        supplier: supplier.trim().parse::<i64>().ok(),
        buyer: Some(buyer.trim().to_string()).filter(|b| !b.is_empty()),
        companies: user.companies,
    };
    crate::server::exceptions::overview(&state.db, &scope, state.settings.ack_window_hours)
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
    use crate::server::orders::ActionError;
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
            state.outbox_wake.notify_one();
            Ok(outcome)
        }
        Err(ActionError::NotFound) => Err(context::not_found("No proposal waits on this line.")),
        Err(ActionError::Invalid(m)) => Err(context::invalid(m)),
        Err(ActionError::Db(e)) => Err(context::internal(e)),
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
    use crate::server::orders::ActionError;
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
            state.outbox_wake.notify_one();
            Ok(outcome)
        }
        Err(ActionError::NotFound) => Err(context::not_found(
            "This conflict is not open any more (someone may have resolved it).",
        )),
        Err(ActionError::Invalid(m)) => Err(context::invalid(m)),
        Err(ActionError::Db(e)) => Err(context::internal(e)),
    }
}

//! Orders: the supplier's inbox, one order in detail, acknowledging and answering lines.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;
use crate::domain::order::{LineAnswerState, OrderStatus};
use crate::domain::outcome::Outcome;
use crate::model::orders::OrderFilter;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: i64,
    pub name: String,
    pub status: OrderStatus,
    pub supplier_name: String,
    pub date_order: Option<String>,
    pub next_due: Option<String>,
    pub amount_total: String,
    pub currency: String,
    pub line_count: i64,
    /// Which company ordered and where the goods go (not set on an Odoo without them).
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub ship_to_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    pub total: i64,
    pub page: i64,
    pub page_count: i64,
    pub counts: Vec<(OrderStatus, i64)>,
    pub needs_action: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineView {
    pub id: i64,
    pub product_code: String,
    pub description: String,
    pub vendor_code: String,
    pub vendor_name: String,
    pub quantity: String,
    pub uom: String,
    pub price_unit: String,
    pub date_planned: Option<String>,
    pub qty_received: String,
    pub open_quantity: String,
    pub answer: Option<LineAnswerState>,
    pub proposed_date: Option<String>,
    pub proposed_quantity: Option<String>,
    pub reason: Option<String>,
    /// Why the buyer turned the proposal down.
    pub buyer_reason: Option<String>,
    pub removed_in_odoo: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub at: String,
    pub actor: Option<String>,
    pub kind: String,
    /// `domain::timeline::EventGroup` code: odoo, supplier, buyer, delivery, receipt.
    pub group: String,
    pub detail: String,
    pub correlation_id: Option<String>,
}

/// Where one write-back to Odoo stands, as the supplier sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub correlation_id: String,
    pub kind: String,
    /// pending, delivered, dead, discarded, conflict
    pub status: String,
    pub attempts: i64,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// One of Odoo's incoming receipts for the order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub name: String,
    /// Odoo's picking state: draft, waiting, confirmed, assigned, done, cancel
    pub state: String,
    pub scheduled_date: Option<String>,
    pub date_done: Option<String>,
    pub carrier_tracking_ref: String,
}

impl ReceiptView {
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "done" => "Received",
            "cancel" => "Cancelled",
            "assigned" => "Expected",
            _ => "Planned",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub id: i64,
    pub name: String,
    pub status: OrderStatus,
    pub supplier_name: String,
    pub buyer_name: String,
    pub date_order: Option<String>,
    pub currency: String,
    pub amount_total: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub change_summary: Option<String>,
    pub lines: Vec<LineView>,
    pub events: Vec<EventView>,
    pub deliveries: Vec<DeliveryView>,
    pub receipts: Vec<ReceiptView>,
    /// Lines whose receipt does not match the shipment notices (settled orders only).
    pub discrepancies: Vec<crate::model::exceptions::ReceiptDiscrepancy>,
    pub tolerance_days: i64,
    pub tolerance_percent: String,
    /// For staff: the demand signals this order answers (`SIG-...`), the start of the trace
    /// back to the plan; always empty for suppliers.
    pub planned_by: Vec<String>,
}

impl OrderDetail {
    pub fn can_answer(&self) -> bool {
        self.status.answerable().is_ok()
    }
}

#[server(endpoint = "orders/list", input = GetUrl)]
pub async fn list_orders(filter: OrderFilter) -> Result<OrderPage, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    let inbox = crate::server::orders::list(&state.db, &user, &filter)
        .await
        .map_err(context::internal)?;
    Ok(present::inbox(inbox, &user.clock()))
}

#[server(endpoint = "orders/get", input = GetUrl)]
pub async fn get_order(id: i64) -> Result<OrderDetail, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    match crate::server::orders::detail(&state.db, &user, id, state.settings.tolerance)
        .await
        .map_err(context::internal)?
    {
        Some(d) => {
            if user.supplier_id.is_some() {
                crate::server::orders::record_view(&state.db, &user, d.id)
                    .await
                    .map_err(context::internal)?;
            }
            let mut order = present::order(d, &user.clock());
            if user.is_internal() {
                order.planned_by =
                    crate::server::planning::trace::references_for_order(&state.db, order.id)
                        .await
                        .map_err(context::internal)?;
            }
            Ok(order)
        }
        // The same answer for "does not exist" and "another supplier's": ids reveal nothing.
        None => Err(context::not_found("No such order among yours.")),
    }
}

#[server(endpoint = "orders/acknowledge")]
pub async fn acknowledge_order(
    csrf_token: String,
    order_id: i64,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    match crate::server::orders::acknowledge(&state.db, &user, order_id, idempotency_key.as_deref())
        .await
    {
        Ok(outcome) => {
            state.wake_jobs();
            Ok(outcome)
        }
        Err(e) => Err(context::action(e, "No such order among yours.")),
    }
}

/// `answer` is `accept`, `propose` or `reject`; `proposed_date` is `YYYY-MM-DD`.
// One argument per field of the answer form (a plain HTML form posts them flat).
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "orders/answer-line")]
pub async fn answer_line(
    csrf_token: String,
    order_id: i64,
    line_id: i64,
    answer: String,
    proposed_date: Option<String>,
    proposed_quantity: Option<String>,
    reason: Option<String>,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    use crate::server::orders::AnswerInput;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    let input = AnswerInput {
        answer,
        proposed_date: proposed_date.unwrap_or_default(),
        proposed_quantity: proposed_quantity.unwrap_or_default(),
        reason: reason.unwrap_or_default(),
    };
    match crate::server::orders::answer_line(
        &state.db,
        &user,
        order_id,
        line_id,
        &input,
        &state.settings.tolerance,
        idempotency_key.as_deref(),
    )
    .await
    {
        Ok(outcome) => {
            state.wake_jobs();
            Ok(outcome)
        }
        Err(e) => Err(context::action(e, "No such order line among yours.")),
    }
}

/// The services' orders as the pages show them: times in the user's zone, quantities
/// without trailing zeros.
#[cfg(feature = "ssr")]
mod present {
    use super::*;
    use crate::server::orders::{Inbox, Order};
    use crate::server::time::UserClock;

    pub fn inbox(i: Inbox, clock: &UserClock) -> OrderPage {
        OrderPage {
            orders: i
                .orders
                .into_iter()
                .map(|r| OrderSummary {
                    id: r.id,
                    name: r.name,
                    status: r.status,
                    supplier_name: r.supplier_name,
                    date_order: clock.opt_at(r.date_order),
                    next_due: clock.opt_at(r.next_due),
                    amount_total: r.amount_total.to_string(),
                    currency: r.currency,
                    line_count: r.line_count,
                    company_name: r.company_name,
                    ship_to_name: r.ship_to_name,
                })
                .collect(),
            total: i.total,
            page: i.page,
            page_count: i.page_count,
            counts: i.counts,
            needs_action: i.needs_action,
        }
    }

    pub fn order(o: Order, clock: &UserClock) -> OrderDetail {
        OrderDetail {
            id: o.id,
            name: o.name,
            status: o.status,
            supplier_name: o.supplier_name,
            buyer_name: o.buyer_name,
            date_order: clock.opt_at(o.date_order),
            currency: o.currency,
            amount_total: o.amount_total.to_string(),
            acknowledged_at: clock.opt_at(o.acknowledged_at),
            acknowledged_by: o.acknowledged_by,
            change_summary: o.change_summary,
            discrepancies: o.discrepancies,
            tolerance_days: o.policy.date_days,
            tolerance_percent: o.policy.quantity_percent.normalize().to_string(),
            planned_by: Vec::new(),
            lines: o
                .lines
                .into_iter()
                .map(|l| LineView {
                    id: l.id,
                    open_quantity: l.open_quantity().normalize().to_string(),
                    product_code: l.product_code,
                    description: l.description,
                    vendor_code: l.vendor_code,
                    vendor_name: l.vendor_name,
                    quantity: l.quantity.normalize().to_string(),
                    uom: l.uom,
                    price_unit: l.price_unit.to_string(),
                    date_planned: clock.opt_at(l.date_planned),
                    qty_received: l.qty_received.normalize().to_string(),
                    answer: l.answer,
                    proposed_date: clock.opt_at(l.proposed_date),
                    proposed_quantity: l.proposed_quantity.map(|q| q.to_string()),
                    reason: l.reason,
                    buyer_reason: l.buyer_reason,
                    removed_in_odoo: l.removed_in_odoo,
                })
                .collect(),
            receipts: o
                .receipts
                .into_iter()
                .map(|r| ReceiptView {
                    name: r.name,
                    state: r.state,
                    scheduled_date: clock.opt_at(r.scheduled_date),
                    date_done: clock.opt_at(r.date_done),
                    carrier_tracking_ref: r.carrier_tracking_ref,
                })
                .collect(),
            events: o
                .events
                .into_iter()
                .map(|e| EventView {
                    at: clock.at(e.at),
                    actor: e.actor,
                    kind: e.kind,
                    group: e.group.code().to_string(),
                    detail: e.detail,
                    correlation_id: e.correlation_id,
                })
                .collect(),
            deliveries: o
                .deliveries
                .into_iter()
                .map(|d| DeliveryView {
                    correlation_id: d.correlation_id,
                    kind: d.kind,
                    status: d.status,
                    attempts: d.attempts,
                    created_at: clock.at(d.created_at),
                    delivered_at: clock.opt_at(d.delivered_at),
                })
                .collect(),
        }
    }
}

//! The canonical representations Millrace speaks to other systems: one schema each, the
//! same names on every endpoint, in every event and in the planning format. Quantities and
//! money as decimal strings (no binary floating point), dates as `YYYY-MM-DD`, instants as
//! RFC 3339 UTC, states as lower-case codes. The `/api/v1` adapter and the event feed
//! (`server::events`, whose payloads are written in the transaction of their change) both
//! build them here, from the services' read models.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An item: the manufacturer's internal reference of a product in Odoo (`default_code`),
/// which is also the planning format's `item` (unless an item mapping names it otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = "MC-1003")]
pub struct Item(pub String);

/// A location: a planning location code, mapped to one Odoo warehouse (the planning
/// format's `location`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = "WH")]
pub struct Location(pub String);

/// A unit of measure by its name in Odoo (`uom.uom`), the planning format's `unit` after
/// unit mapping; quantities beside it are in this unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = "Units")]
pub struct Unit(pub String);

/// A supplier: the supplier organisation's name in the portal, linked to one Odoo vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = "Gemini Furniture")]
pub struct Supplier(pub String);

/// A lead time: whole days from order to receipt, as the vendor pricelist says
/// (`product.supplierinfo.delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = 7)]
pub struct LeadTime(pub i64);

/// An order's status as its supplier sees it (derived from what Odoo holds and what the
/// supplier answered; `domain::order::OrderStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    New,
    Acknowledged,
    ChangesProposed,
    ChangesAccepted,
    ChangesRejected,
    PartiallyShipped,
    Shipped,
    Received,
    ChangedInOdoo,
    Cancelled,
}

impl From<crate::domain::order::OrderStatus> for OrderStatus {
    fn from(s: crate::domain::order::OrderStatus) -> Self {
        use crate::domain::order::OrderStatus as D;
        match s {
            D::New => OrderStatus::New,
            D::Acknowledged => OrderStatus::Acknowledged,
            D::ChangesProposed => OrderStatus::ChangesProposed,
            D::ChangesAccepted => OrderStatus::ChangesAccepted,
            D::ChangesRejected => OrderStatus::ChangesRejected,
            D::PartiallyShipped => OrderStatus::PartiallyShipped,
            D::Shipped => OrderStatus::Shipped,
            D::Received => OrderStatus::Received,
            D::ChangedInOdoo => OrderStatus::ChangedInOdoo,
            D::Cancelled => OrderStatus::Cancelled,
        }
    }
}

impl OrderStatus {
    /// The status of a stored code (`purchase_orders.status`); None for a code the domain
    /// does not know.
    pub fn of_code(code: &str) -> Option<Self> {
        crate::domain::order::OrderStatus::from_code(code).map(Self::from)
    }
}

/// An order as its supplier sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: i64,
    /// The order's number in Odoo (e.g. `P00031`).
    pub number: String,
    pub status: OrderStatus,
    pub supplier: Supplier,
    /// The purchase representative in Odoo.
    pub buyer: String,
    /// When the order was placed (RFC 3339, UTC).
    pub ordered_at: Option<String>,
    pub currency: String,
    /// Total with taxes, a decimal string.
    pub amount_total: String,
    pub acknowledged_at: Option<String>,
    /// What changed in Odoo since the supplier last answered.
    pub change_summary: Option<String>,
    pub lines: Vec<OrderLine>,
}

/// One line of an order.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub id: i64,
    pub item: Item,
    pub description: String,
    /// The supplier's own code for the item, from the vendor pricelist.
    pub vendor_item: String,
    pub quantity: String,
    pub unit: Unit,
    pub price_unit: String,
    /// The date the goods are wanted (`YYYY-MM-DD`).
    pub requested_date: Option<String>,
    pub received_quantity: String,
    pub open_quantity: String,
    /// The supplier's answer: accepted, proposal_pending, proposal_accepted,
    /// proposal_rejected, rejected; absent while unanswered.
    pub answer: Option<String>,
    pub proposed_date: Option<String>,
    pub proposed_quantity: Option<String>,
    pub reason: Option<String>,
    /// Why the buyer turned a proposal down.
    pub buyer_reason: Option<String>,
    /// The line was removed from the order in Odoo.
    pub removed: bool,
}

/// One of Odoo's incoming receipts for an order, and what it booked per line.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// Odoo's reference (e.g. `WH/IN/00012`).
    pub reference: String,
    /// draft, waiting, confirmed, assigned (ready), done (booked) or cancel.
    pub state: String,
    pub scheduled_at: Option<String>,
    pub done_at: Option<String>,
    pub tracking_number: String,
}

/// An order's receipts, and what was received per line against what was announced.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReceiptStatus {
    pub order_id: i64,
    pub receipts: Vec<Receipt>,
    pub lines: Vec<LineReceipt>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LineReceipt {
    pub line_id: i64,
    pub item: Item,
    pub quantity: String,
    pub received_quantity: String,
    pub open_quantity: String,
}

/// Something that happened in the portal (the event feed and webhooks).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Unique and stable (`evt_<n>`): the same on every delivery of it, the webhook's
    /// `webhook-id`; receivers use it to ignore a repeat.
    pub id: String,
    /// e.g. `order.acknowledged` (README, event types).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened (RFC 3339, UTC).
    pub occurred_at: String,
    /// The correlation id of the action that caused it, as quoted in Odoo's chatter.
    pub correlation_id: Option<String>,
    pub data: EventData,
}

/// What an event is about.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventData {
    /// The order as its supplier saw it right after the change.
    pub order: Option<Order>,
    /// What happened, in words (as the order's history says it).
    pub summary: String,
    /// The planning version a `planning.*` event is about (staff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planning: Option<PlanningVersionEvent>,
}

/// A planning version as `planning.version_approved` and `planning.version_applied` name it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanningVersionEvent {
    /// The snapshot's id (`/planning/versions/{id}`).
    pub version_id: i64,
    /// The version's number within its source and kind.
    pub version: i64,
    pub source: String,
    /// `forecast` or `supply`.
    pub kind: String,
    /// The correlation id of the version (also on each demand signal and Odoo note).
    pub correlation_id: String,
    /// Its demand signals by state (`pending`, `applied`, `unchanged`, `conflict`, `kept`).
    pub signals: std::collections::BTreeMap<String, i64>,
}

/// An instant as RFC 3339 UTC.
pub fn utc(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn order_of(d: crate::server::orders::Order) -> Order {
    let day = |t: chrono::NaiveDateTime| t.date().to_string();
    Order {
        id: d.id,
        number: d.name,
        status: d.status.into(),
        supplier: Supplier(d.supplier_name),
        buyer: d.buyer_name,
        ordered_at: d.date_order.map(utc),
        currency: d.currency,
        amount_total: d.amount_total.normalize().to_string(),
        acknowledged_at: d.acknowledged_at.map(utc),
        change_summary: d.change_summary,
        lines: d
            .lines
            .into_iter()
            .map(|l| OrderLine {
                id: l.id,
                open_quantity: l.open_quantity().normalize().to_string(),
                item: Item(l.product_code),
                description: l.description,
                vendor_item: l.vendor_code,
                quantity: l.quantity.normalize().to_string(),
                unit: Unit(l.uom),
                price_unit: l.price_unit.normalize().to_string(),
                requested_date: l.date_planned.map(day),
                received_quantity: l.qty_received.normalize().to_string(),
                answer: l.answer.map(|a| a.code().to_string()),
                proposed_date: l.proposed_date.map(day),
                proposed_quantity: l.proposed_quantity.map(|q| q.normalize().to_string()),
                reason: l.reason,
                buyer_reason: l.buyer_reason,
                removed: l.removed_in_odoo,
            })
            .collect(),
    }
}

/// An order's receipts as other systems get them.
pub fn receipts_of(d: crate::server::orders::Order) -> ReceiptStatus {
    ReceiptStatus {
        order_id: d.id,
        receipts: d
            .receipts
            .into_iter()
            .map(|r| Receipt {
                reference: r.name,
                state: r.state,
                scheduled_at: r.scheduled_date.map(utc),
                done_at: r.date_done.map(utc),
                tracking_number: r.carrier_tracking_ref,
            })
            .collect(),
        lines: d
            .lines
            .into_iter()
            .filter(|l| !l.removed_in_odoo)
            .map(|l| LineReceipt {
                line_id: l.id,
                open_quantity: l.open_quantity().normalize().to_string(),
                item: Item(l.product_code),
                quantity: l.quantity.normalize().to_string(),
                received_quantity: l.qty_received.normalize().to_string(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_status_is_written_as_its_stored_code() {
        for d in crate::domain::order::OrderStatus::ALL {
            assert_eq!(
                serde_json::to_value(OrderStatus::from(d)).unwrap(),
                serde_json::json!(d.code())
            );
            assert_eq!(OrderStatus::of_code(d.code()), Some(OrderStatus::from(d)));
        }
    }

    #[test]
    fn the_value_types_are_plain_strings_and_numbers_on_the_wire() {
        assert_eq!(
            serde_json::to_value(Item("MC-1003".into())).unwrap(),
            "MC-1003"
        );
        assert_eq!(serde_json::to_value(LeadTime(7)).unwrap(), 7);
    }
}

//! The trace of issue 14, section 5: from a forecast version (or one item of it) to the
//! demand signals it produced, the Odoo records written from them, the purchase orders that
//! answer them, the suppliers' answers, shipment notices and receipts; and from an order
//! back to the versions that caused it. One shape for both directions, read by the page
//! `/planning/trace` and by `GET /api/v1/planning/traces`.

use serde::{Deserialize, Serialize};

use super::planning_push::SignalView;

/// A trace: the versions (newest first) with the signals that belong to what was asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Trace {
    /// The order the trace starts from (the backward direction), if it starts from one.
    pub order: Option<TraceOrder>,
    pub versions: Vec<TraceVersion>,
    /// The version's signals were cut at this many (the trace of one item is never cut).
    pub truncated_at: Option<usize>,
}

/// A forecast or supply version, as its signals were derived from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceVersion {
    /// The snapshot's id (`/planning/versions/<id>`).
    pub import_id: i64,
    /// `forecast` or `supply`.
    pub kind: String,
    /// The version number within its kind.
    pub version: Option<i64>,
    pub source: String,
    pub file_name: String,
    pub status: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS` (pages show it in the user's zone).
    pub sent_at: String,
    pub approved_at: Option<String>,
    /// Who approved it (a planner's name, or `rule: <name>`).
    pub approved_by: Option<String>,
    /// The correlation id every signal and Odoo record written from this version carries.
    pub correlation_id: String,
    pub signals: Vec<TraceSignal>,
}

/// One demand signal and the purchase orders that answer it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceSignal {
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub signal: SignalView,
    pub orders: Vec<TraceOrder>,
}

/// A purchase order in Odoo that answers a signal, with the lines for the signal's item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceOrder {
    pub odoo_id: i64,
    /// The order's number in Odoo.
    pub name: String,
    /// The portal's id (`/orders/<id>`); None while the order is not released to the
    /// supplier (a draft RFQ) or not yet synced.
    pub order_id: Option<i64>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<crate::server::canonical::Supplier>))]
    pub supplier: Option<String>,
    /// The order's status as its supplier sees it; None when not synced.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<crate::server::canonical::OrderStatus>))]
    pub status: Option<String>,
    pub lines: Vec<TraceLine>,
    pub receipts: Vec<TraceReceipt>,
}

/// An order line of the signal's item: what the supplier answered, announced and delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceLine {
    pub line_id: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = crate::server::canonical::Item))]
    pub item: String,
    pub description: String,
    /// Decimal strings in `unit`.
    pub quantity: String,
    #[cfg_attr(feature = "ssr", schema(value_type = crate::server::canonical::Unit))]
    pub unit: String,
    /// Odoo's planned date, `YYYY-MM-DD`.
    pub requested_date: Option<String>,
    /// accepted, proposal_pending, proposal_accepted, proposal_rejected, rejected; None:
    /// not answered.
    pub answer: Option<String>,
    pub proposed_date: Option<String>,
    pub proposed_quantity: Option<String>,
    pub received_quantity: String,
    pub notices: Vec<TraceNotice>,
}

/// A shipment notice's entry for a line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceNotice {
    pub id: i64,
    pub number: String,
    /// submitted, cancelled, received.
    pub status: String,
    pub quantity: String,
    /// `YYYY-MM-DD`.
    pub expected_arrival: String,
}

/// An incoming receipt of the order in Odoo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TraceReceipt {
    pub name: String,
    pub state: String,
    /// UTC, when Odoo validated it.
    pub date_done: Option<String>,
}

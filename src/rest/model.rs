//! The canonical representations `/api/v1` speaks: one schema each, the same names on every
//! endpoint (and in the planning format): quantities and money as decimal strings (no
//! binary floating point), dates as `YYYY-MM-DD`, instants as RFC 3339 UTC, states as
//! lower-case codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::server::canonical::{Event, Item, Order, OrderLine, OrderStatus, Supplier, Unit};

/// A page of the orders that changed, oldest change first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderChanges {
    pub orders: Vec<OrderChange>,
    /// Pass as `after` for the next page; the same value again later returns what changed
    /// since. Absent when nothing has changed yet.
    pub next_cursor: Option<String>,
    /// More changes wait beyond this page.
    pub has_more: bool,
}

/// An order that changed: fetch it for the details.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderChange {
    pub id: i64,
    pub number: String,
    pub status: OrderStatus,
    /// When it last changed (RFC 3339, UTC).
    pub changed_at: String,
}

/// The supplier's answer on one line.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineAnswer {
    /// accept, propose or reject.
    pub answer: String,
    /// With `propose`: the date the supplier can deliver (`YYYY-MM-DD`).
    #[serde(default)]
    pub proposed_date: Option<String>,
    /// With `propose`: the quantity the supplier can deliver (a decimal string).
    #[serde(default)]
    pub proposed_quantity: Option<String>,
    /// Why (required with `propose` outside tolerance and with `reject`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What an action did: done now, or found done already (`already`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActionResult {
    pub already: bool,
    pub message: String,
}

/// A shipment notice to submit.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipmentNotice {
    /// `YYYY-MM-DD`.
    pub ship_date: String,
    /// `YYYY-MM-DD`.
    pub expected_arrival: String,
    pub carrier: String,
    pub tracking_number: String,
    pub package_count: u32,
    pub lines: Vec<NewShipmentLine>,
}

/// One order line in a shipment notice.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipmentLine {
    pub line_id: i64,
    /// A decimal string.
    pub quantity: String,
    /// The lot number, or one serial number per unit, for tracked items.
    #[serde(default)]
    pub lots: Vec<String>,
}

/// A shipment notice submitted.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentNoticeCreated {
    pub number: String,
    pub message: String,
}

/// A shipment notice as submitted, with its state.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentNotice {
    pub id: i64,
    pub number: String,
    /// submitted, cancelled or received.
    pub status: String,
    pub ship_date: String,
    pub expected_arrival: String,
    pub carrier: String,
    pub tracking_number: String,
    pub package_count: i64,
    pub lines: Vec<ShipmentNoticeLine>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentNoticeLine {
    pub order_id: i64,
    pub order_number: String,
    pub description: String,
    pub quantity: String,
    pub unit: Unit,
    pub lots: Vec<String>,
}

/// An error (RFC 9457).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    pub status: u16,
    pub title: String,
    /// Stable: what a program tests (`not_found`, `invalid_payload`, `rejected`,
    /// `scope_missing`, `rate_limited`, `idempotency_key_missing`, `idempotency_key_reused`,
    /// `unauthorized`, ...).
    pub code: String,
    /// For a person.
    pub detail: String,
    /// For `invalid_payload`: each problem's JSON path and message.
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

/// `YYYY-MM-DD HH:MM UTC` (a page's formatting in UTC) or a stored
/// `YYYY-MM-DD HH:MM:SS` as RFC 3339.
pub fn instant(s: &str) -> String {
    let s = s.trim_end_matches(" UTC");
    match s.len() {
        16 => format!("{}T{}:00Z", &s[..10], &s[11..]),
        n if n >= 19 => format!("{}T{}Z", &s[..10], &s[11..19]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn instants_are_rfc_3339_utc() {
        assert_eq!(
            super::instant("2026-12-01 10:37 UTC"),
            "2026-12-01T10:37:00Z"
        );
        assert_eq!(
            super::instant("2026-12-01 10:37:05"),
            "2026-12-01T10:37:05Z"
        );
    }
}

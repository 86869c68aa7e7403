//! The order as a supplier needs it: note lines, the inbox's company and plant filters, and
//! orders grouped by destination.

use serde::{Deserialize, Serialize};

/// A section heading or a note between the order's lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoteLineView {
    /// The portal id of the goods line it follows; None: before the first one.
    pub after_line: Option<i64>,
    /// A section heading (else a note).
    pub section: bool,
    pub text: String,
}

/// A value to filter by and what the supplier reads for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterOption {
    pub value: String,
    pub label: String,
}

/// The companies and ship-to plants the user's orders come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OriginOptions {
    pub companies: Vec<FilterOption>,
    pub plants: Vec<FilterOption>,
}

/// Orders that go to the same place (ordering company and ship-to).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DestinationGroup {
    pub label: String,
    pub order_ids: Vec<i64>,
    pub order_names: Vec<String>,
}

impl DestinationGroup {
    /// The new-notice page for this group's orders only.
    pub fn notice_link(&self) -> String {
        let q: Vec<String> = self
            .order_ids
            .iter()
            .map(|i| format!("order={i}"))
            .collect();
        format!("/shipments/new?{}", q.join("&"))
    }
}

/// How a header names its destination, by `ship_to_kind`.
pub fn ship_to_label(ship_to_kind: Option<&str>) -> &'static str {
    match ship_to_kind {
        Some("dropship") => "Drop-ship to",
        Some("company") => "Deliver to the company",
        _ => "Ship to",
    }
}

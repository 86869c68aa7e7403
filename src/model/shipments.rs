//! Shipment notices: the open lines to ship from, what the supplier submits, the notices.

use serde::{Deserialize, Serialize};

/// A line of one of the supplier's orders with quantity left to ship.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenLine {
    pub line_id: i64,
    pub order_id: i64,
    pub order_name: String,
    pub description: String,
    pub product_code: String,
    /// none, lot or serial (Odoo's product tracking)
    pub tracking: String,
    pub open_quantity: String,
    pub uom: String,
    pub date_planned: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShipmentLineInput {
    pub line_id: i64,
    /// Empty: this line is not in the shipment.
    #[serde(default)]
    pub quantity: String,
    /// Lot number, or serial numbers one per line.
    #[serde(default)]
    pub lots: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShipmentInput {
    pub ship_date: String,
    pub expected_arrival: String,
    pub carrier: String,
    pub tracking_number: String,
    pub package_count: String,
    #[serde(default)]
    pub lines: Vec<ShipmentLineInput>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentLineView {
    pub order_id: i64,
    pub order_name: String,
    pub description: String,
    pub quantity: String,
    pub uom: String,
    pub lot_numbers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentSummary {
    pub id: i64,
    pub number: String,
    /// submitted, cancelled or received
    pub status: String,
    pub ship_date: String,
    pub expected_arrival: String,
    pub carrier: String,
    pub tracking_number: String,
    pub package_count: i64,
    pub created_at: String,
    pub lines: Vec<ShipmentLineView>,
    pub documents: Vec<DocumentView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentView {
    pub id: i64,
    pub file_name: String,
    pub size_bytes: i64,
}

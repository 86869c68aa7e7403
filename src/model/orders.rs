//! The supplier's inbox: which orders to list.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderFilter {
    /// PO number, product, or the supplier's own product code.
    pub q: String,
    /// An [`crate::domain::order::OrderStatus`] code, `action` for everything that needs the supplier, or empty.
    pub status: String,
    /// `YYYY-MM-DD`: only orders with a line due on or before this day.
    pub due_before: String,
    pub page: i64,
    /// The ordering company's Odoo id, or empty.
    #[serde(default)]
    pub company: String,
    /// A ship-to plant (`order_headers.ship_to_key`), or empty.
    #[serde(default)]
    pub plant: String,
}

//! Demand signals as pages and the trace read them (`server::planning::push`).

use serde::{Deserialize, Serialize};

/// One demand signal: what an approved version asked of Odoo and what came of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalView {
    pub id: i64,
    /// `SIG-<version>-<n>` (`SIG-S<version>-<n>` for supply recommendations).
    pub reference: String,
    pub import_id: i64,
    /// `rule` (a reordering rule) or `rfq` (a draft RFQ).
    pub kind: String,
    pub item_code: String,
    pub location_code: String,
    pub product_odoo_id: i64,
    pub warehouse_code: String,
    pub min_qty: Option<String>,
    pub max_qty: Option<String>,
    /// The quantity to order (rules: the nearest bucket's, where Odoo takes it) or the RFQ's.
    pub quantity: Option<String>,
    pub need_by: Option<String>,
    pub correlation_id: String,
    /// pending, applied, unchanged, conflict, kept (Odoo's values kept) or dead.
    pub state: String,
    pub odoo_model: Option<String>,
    pub odoo_id: Option<i64>,
    /// The rule's or RFQ's name in Odoo.
    pub odoo_name: Option<String>,
    /// On a conflict: what Odoo holds.
    pub odoo_min: Option<String>,
    pub odoo_max: Option<String>,
    pub odoo_trigger: Option<String>,
    /// Why it is dead or waiting.
    pub problem: Option<String>,
    pub applied_at: Option<String>,
    /// Purchase orders in Odoo that answer it: (Odoo id, name).
    pub orders: Vec<(i64, String)>,
}

//! Write-backs to Odoo that could not be applied, as listed for buyers.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: i64,
    pub correlation_id: String,
    pub order_name: Option<String>,
    pub supplier_name: Option<String>,
    pub kind: String,
    /// dead (Odoo refused, or gave up retrying) or conflict (Odoo changed since the supplier answered)
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at: String,
}

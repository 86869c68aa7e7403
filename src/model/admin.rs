//! Onboarding: organisations and their settings, Odoo vendors, team members, the audit log.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierSettings {
    pub id: i64,
    pub name: String,
    pub odoo_partner_id: i64,
    /// Empty: the global default.
    pub ack_window_hours: String,
    pub date_tolerance_days: String,
    pub quantity_tolerance_percent: String,
    pub over_delivery_percent: String,
    pub active_users: i64,
    pub visible_orders: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorHit {
    pub odoo_partner_id: i64,
    pub name: String,
    pub city: String,
    pub email: String,
    /// Odoo counts it as a vendor (it has purchase history or pricelists).
    pub is_vendor: bool,
    pub linked_supplier_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    /// Invited, and the link not used yet.
    pub invitation_pending: bool,
    /// For a buyer: the companies (Odoo ids) they are limited to; empty for every company.
    pub companies: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

/// A mail the mail server refused for good (a dead `mail` job): for whom, about what, why.
/// Never its body, which may hold a password link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UndeliveredMail {
    pub to: String,
    pub subject: String,
    pub queued_at: String,
    pub attempts: i64,
    pub error: Option<String>,
}

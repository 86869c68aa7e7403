//! Demand planning per item (issue 14): planners' overrides of forecast buckets, one item's
//! forecast across versions (the chart page), the auto-approval rules, and the rows of the
//! supplier-confirmed supply the portal offers back to the planning platform.

use serde::{Deserialize, Serialize};

/// A planner's override of one forecast bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverrideView {
    pub id: i64,
    pub item: String,
    pub location: String,
    pub bucket_start: String,
    pub quantity: String,
    pub reason: String,
    /// The last day it applies (YYYY-MM-DD).
    pub until: String,
    pub created_by: String,
    pub created_at: String,
    /// Still applies (its last day is today or later).
    pub active: bool,
}

/// One bucket of a forecast version with the override that wins over it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectiveBucket {
    pub item: String,
    pub location: String,
    pub bucket_start: String,
    pub kind: String,
    /// What the version holds (in the product's unit).
    pub imported: String,
    /// What counts: the override's quantity while it applies, else the imported one.
    pub effective: String,
    pub override_id: Option<i64>,
    pub reason: Option<String>,
    pub until: Option<String>,
}

/// A forecast version's overridden buckets and every override (the version page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionOverrides {
    /// Buckets of the version an active override replaces.
    pub overridden: Vec<EffectiveBucket>,
    /// Every override, active ones first.
    pub overrides: Vec<OverrideView>,
}

/// One version's line on the item page: its quantity per bucket (None: not in it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionSeries {
    pub import_id: i64,
    pub version: i64,
    pub status: String,
    pub quantities: Vec<Option<String>>,
}

/// One item at one location across forecast versions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemHistory {
    pub item: String,
    pub location: String,
    /// The buckets' first days, in order: the x axis.
    pub buckets: Vec<String>,
    /// The latest versions holding the item, oldest first.
    pub versions: Vec<VersionSeries>,
    /// The active override per bucket (None: none).
    pub overrides: Vec<Option<String>>,
    /// Locations where the item has forecast rows.
    pub locations: Vec<String>,
}

/// A source's auto-approval limits (source `*`: every source without its own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoApprovalRule {
    pub source: String,
    pub max_percent: Option<String>,
    pub max_absolute: Option<String>,
    /// How approvals by it read: "within 10%".
    pub describe: String,
}

/// One row of the supply the portal offers to the planning platform (the API names its
/// item, location, unit, supplier and lead time with the canonical schemas).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SupplyRow {
    /// The planning item code: an explicit item mapping, else the product's internal reference.
    #[cfg_attr(feature = "ssr", schema(value_type = crate::server::canonical::Item))]
    pub item: String,
    /// The planning location whose warehouse receives the order; empty when none is mapped.
    #[cfg_attr(feature = "ssr", schema(value_type = crate::server::canonical::Location))]
    pub location: String,
    /// Where the order is delivered as Odoo names it: `warehouse:<id>`, `partner:<id>` or `company:<id>`.
    pub ship_to: String,
    pub product_odoo_id: Option<i64>,
    /// open_purchase (still to be shipped), shipment_notice (announced, on its way) or
    /// on_hand (in the warehouse, as Odoo last said).
    pub supply_type: String,
    pub quantity: String,
    #[cfg_attr(feature = "ssr", schema(value_type = crate::server::canonical::Unit))]
    pub unit: String,
    /// YYYY-MM-DD
    pub date: String,
    /// supplier_confirmed, odoo_planned, shipment_notice or odoo_on_hand.
    pub date_source: String,
    pub order: String,
    /// None for on-hand rows.
    pub order_line_odoo_id: Option<i64>,
    #[cfg_attr(feature = "ssr", schema(value_type = crate::server::canonical::Supplier))]
    pub supplier: String,
    pub shipment_notice: Option<String>,
    /// From the vendor pricelist (Odoo's delay); None when the pricelist has no row.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<crate::server::canonical::LeadTime>))]
    pub lead_time_days: Option<i64>,
}

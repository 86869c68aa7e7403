//! Demand planning as the services return it and the planning pages show it: imported
//! snapshots and versions, their validation reports, the diff of a version against the
//! previous approved one, and the mapping of planning codes to Odoo.

use serde::{Deserialize, Serialize};

/// One snapshot as sent (a version once valid). Times are UTC as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub id: i64,
    /// forecast or supply
    pub kind: String,
    pub source: String,
    pub snapshot_id: Option<String>,
    pub file_name: String,
    /// pending, rejected, valid or approved
    pub status: String,
    /// Set once valid: the version number among the kind's versions.
    pub version: Option<i64>,
    pub row_count: i64,
    pub item_count: i64,
    pub error_count: i64,
    pub sent_by: String,
    pub sent_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub correlation_id: String,
}

/// One problem of a validation report: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowProblem {
    /// The file's line (CSV, the header being 1) or the row's position (JSON, from 1); 0
    /// for the file as a whole.
    pub row: i64,
    pub column: String,
    pub value: String,
    pub problem: String,
    pub fix: String,
}

/// A code the validation could not map, with how many rows hold it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unmapped {
    /// item, location or unit
    pub what: String,
    pub code: String,
    pub row_count: i64,
}

/// One bucket of a forecast against the previous approved version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub item: String,
    pub location: String,
    pub bucket_start: String,
    pub kind: String,
    pub previous: Option<String>,
    pub now: Option<String>,
    /// In percent of the previous quantity, where there was one.
    pub change_percent: Option<String>,
    /// Beyond the threshold, or a bucket that appeared or disappeared.
    pub large: bool,
}

/// A snapshot's page: what it is, its report, and its changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionDetail {
    pub import: ImportSummary,
    /// The approved version it is compared with.
    pub previous_version: Option<i64>,
    pub problems: Vec<RowProblem>,
    pub unmapped: Vec<Unmapped>,
    /// Changed buckets (at most [`DIFF_SHOWN`]).
    pub diff: Vec<DiffRow>,
    pub changed_count: i64,
    pub threshold_percent: String,
}

/// Changed buckets a version page lists at most.
pub const DIFF_SHOWN: i64 = 500;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemMapping {
    pub item_code: String,
    pub product_odoo_id: i64,
    /// The product's internal reference, where the poller has seen it.
    pub product_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationMapping {
    pub location_code: String,
    pub warehouse_code: String,
    pub warehouse_odoo_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitMapping {
    pub unit_code: String,
    pub uom_name: String,
    pub factor: String,
}

/// How one source writes its files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub source: String,
    /// `source column=canonical field` pairs, one a line.
    pub columns: String,
    pub date_format: String,
    pub decimal_separator: String,
    pub delimiter: String,
}

/// The mapping page: what the latest rejected import could not map, and every mapping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingView {
    pub latest_rejected: Option<ImportSummary>,
    pub unmapped: Vec<Unmapped>,
    pub items: Vec<ItemMapping>,
    pub locations: Vec<LocationMapping>,
    pub units: Vec<UnitMapping>,
    pub profiles: Vec<Profile>,
    /// Products the poller has seen: (Odoo id, internal reference, unit), to map items to.
    pub products: Vec<(i64, String, String)>,
}

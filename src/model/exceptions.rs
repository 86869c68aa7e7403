//! The buyer's exceptions as the service finds them and the page shows them.

use serde::{Deserialize, Serialize};

use super::sync::DeadLetterView;
use crate::domain::order::LineAnswerState;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LateAcknowledgment {
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub released_at: String,
    pub age_hours: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingProposal {
    pub line_id: i64,
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub description: String,
    pub quantity: String,
    pub uom: String,
    pub date_planned: Option<String>,
    pub proposed_date: Option<String>,
    pub proposed_quantity: Option<String>,
    pub reason: String,
    /// ProposalPending, or Rejected (the supplier cannot deliver the line)
    pub answer: LineAnswerState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtRiskDelivery {
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub description: String,
    pub open_quantity: String,
    pub requested: String,
    pub why: String,
}

/// A line whose validated receipt does not match what shipment notices announced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptDiscrepancy {
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    pub line_id: i64,
    pub description: String,
    /// short, over, without_notice or different_lots
    pub kind: String,
    pub detail: String,
}

/// A supplier's answer against what Odoo holds now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// `message:<id>` (a write-back that met a changed order) or `order:<id>` (an order
    /// Odoo changed after the supplier answered).
    pub key: String,
    pub order_id: i64,
    pub order_name: String,
    pub supplier_name: String,
    /// write_back or changed_in_odoo
    pub kind: String,
    pub summary: String,
    /// Since when (naive UTC).
    pub since: String,
    /// The write-back's correlation id.
    pub reference: Option<String>,
    pub lines: Vec<ConflictLine>,
    /// The supplier's answer can be applied over Odoo's version (a line's date or quantity).
    pub can_apply: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictLine {
    pub description: String,
    /// What the supplier answered.
    pub supplier: String,
    /// What Odoo holds now.
    pub odoo: String,
}

/// Planning data that needs a buyer or planner: a snapshot refused, codes nobody mapped,
/// data older than its expected refresh, a demand signal Odoo did not take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanningProblem {
    /// `import_rejected`, `unmapped`, `stale`, `stuck`, `pull_failed`, `signal_conflict` or
    /// `signal_dead`.
    pub kind: String,
    /// What it is about, e.g. "forecast from frepple".
    pub subject: String,
    pub detail: String,
    /// Where to act on it; empty where the viewer may not open the page (a buyer and the
    /// planners' pages).
    pub link: String,
    /// Since when (naive UTC).
    pub since: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionsView {
    pub late_acknowledgments: Vec<LateAcknowledgment>,
    pub proposals: Vec<PendingProposal>,
    pub at_risk: Vec<AtRiskDelivery>,
    pub discrepancies: Vec<ReceiptDiscrepancy>,
    pub sync_problems: Vec<DeadLetterView>,
    pub conflicts: Vec<Conflict>,
    /// Planning data that needs a look (empty when the view is filtered by supplier).
    pub planning: Vec<PlanningProblem>,
    pub suppliers: Vec<SupplierChoice>,
    /// Purchase representatives named on orders, for the buyer filter.
    pub buyers: Vec<String>,
    /// How many there are of each kind; the lists above hold at most `shown_at_most` of them.
    pub totals: ExceptionTotals,
    /// The page shows the most pressing few of each kind (the CSV has them all); None: all.
    pub shown_at_most: Option<usize>,
}

/// How many exceptions of each kind there are, shown or not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceptionTotals {
    pub late_acknowledgments: usize,
    pub proposals: usize,
    pub at_risk: usize,
    pub discrepancies: usize,
    pub sync_problems: usize,
    pub conflicts: usize,
}

//! Scheduled pulls of planning snapshots, as the page shows them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullView {
    pub id: i64,
    /// The planning source the files are registered under (its profile applies).
    pub source: String,
    /// `forecast` or `supply`.
    pub kind: String,
    pub url: String,
    /// `none`, `basic` or `bearer`; the secret itself is never shown.
    pub auth: String,
    pub username: Option<String>,
    pub every_hours: i64,
    /// UTC hours [start, end) in which pulls may run (0 and 24: any time).
    pub window_start: i64,
    pub window_end: i64,
    pub paused: bool,
    pub next_due_at: String,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    /// `running`, `valid`, `rejected`, `unchanged` or `failed`.
    pub last_status: Option<String>,
    pub last_message: Option<String>,
    pub last_import_id: Option<i64>,
}

/// The page: the pulls, and whether the viewer may change them (admins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullsPage {
    pub pulls: Vec<PullView>,
    pub may_manage: bool,
}

/// What an admin saves; an empty `secret` keeps the stored one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PullForm {
    pub source: String,
    pub kind: String,
    pub url: String,
    pub auth: String,
    pub username: String,
    pub secret: String,
    pub every_hours: String,
    pub window_start: String,
    pub window_end: String,
}

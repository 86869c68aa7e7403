//! The business vocabulary and rules shared by the server and the browser: order and line
//! states, change proposals and the tolerance policy, shipment-notice quantity rules, the
//! order timeline's threads.
//! Invariant: no I/O here (no tokio, sqlx, reqwest, axum); values in, values out.

pub mod discrepancy;
pub mod order;
pub mod outcome;
pub mod performance;
pub mod planning;
pub mod planning_rules;
pub mod risk;
pub mod shipment;
pub mod timeline;
pub mod tolerance;

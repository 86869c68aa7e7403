//! Read models that pages receive as the services in `server/` return them: plain data
//! with nothing to present (no time to put in the user's zone), and the inputs the services
//! take. Compiled into both builds, so `server/` and `api/` share them without `server/`
//! importing `api/`. No I/O, no rules (those are in `domain/`).

pub mod admin;
pub mod exceptions;
pub mod order_document;
pub mod orders;
pub mod planning;
pub mod planning_items;
pub mod planning_push;
pub mod planning_trace;
pub mod pulls;
pub mod shipments;
pub mod sync;

//! Keeping the portal and Odoo in step: the poller (Odoo → portal, keyset cursor on
//! `(write_date, id)`), webhooks as hints, reconciliation, and the outbox (portal → Odoo:
//! durable, retried, idempotent, ordered per purchase order).

pub mod cursor;
pub mod lease;
pub mod order_header;
pub mod outbox;
pub mod poller;
pub mod prefill;

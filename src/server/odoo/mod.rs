//! The Odoo client: JSON-RPC and JSON-2 behind one interface, version detection, field-name
//! shims per version, and errors classified into retry-or-not. Odoo's wire shapes stay here.

pub mod check;
pub mod client;
pub mod error;
pub mod fields;
pub mod link;
pub mod value;

pub use client::{OdooClient, OdooSettings, Transport, TransportChoice};
pub use error::{OdooError, Retry};
pub use link::OdooLink;

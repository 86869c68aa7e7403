//! The order as a supplier needs it: the header (who buys, where to ship, on what terms),
//! section and note lines as Odoo prints them, the supplier's own reference on the order, and
//! the companies and plants its orders come from (for the inbox's filters). The PDF of the
//! order is a plain route, `/orders/{id}/pdf` (`server::order_pdf`).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;
use crate::domain::outcome::Outcome;
use crate::model::order_document::{DestinationGroup, NoteLineView, OriginOptions};

/// The order's header. `None` reads "not set": Odoo left it empty, or the connected Odoo
/// has no such field (`server::odoo::fields` says which, and why).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderHeaderView {
    pub order_id: i64,
    pub order_name: String,
    pub company_name: Option<String>,
    pub company_address: Option<String>,
    pub company_vat: Option<String>,
    /// `warehouse`, `dropship` or `company`.
    pub ship_to_kind: Option<String>,
    pub ship_to_name: Option<String>,
    pub ship_to_address: Option<String>,
    pub buyer_name: String,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub payment_terms: Option<String>,
    pub incoterm: Option<String>,
    pub incoterm_location: Option<String>,
    /// The supplier's own reference on the order (Odoo's `partner_ref`).
    pub partner_ref: Option<String>,
    /// Whether the supplier may set its reference here (supplier users, an order not
    /// cancelled, an Odoo with the field).
    pub can_set_reference: bool,
    pub notes: Option<String>,
    pub currency: String,
    pub amount_untaxed: Option<String>,
    pub amount_tax: Option<String>,
    pub amount_total: String,
    /// When Odoo last changed the order, in the user's time zone.
    pub odoo_changed_at: String,
    pub note_lines: Vec<NoteLineView>,
}

impl OrderHeaderView {
    pub fn ship_to_label(&self) -> &'static str {
        crate::model::order_document::ship_to_label(self.ship_to_kind.as_deref())
    }
}

/// The chosen orders (comma-separated ids) grouped by destination, for the notice form.
#[server(endpoint = "shipments/destinations", input = GetUrl)]
pub async fn notice_destinations(orders: String) -> Result<Vec<DestinationGroup>, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    let Some(supplier) = user.supplier_id else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = orders
        .split(',')
        .filter_map(|i| i.trim().parse().ok())
        .collect();
    let mut conn = state.db.acquire().await.map_err(context::internal)?;
    crate::server::order_document::destination_groups(&mut conn, supplier, &ids)
        .await
        .map_err(context::internal)
}

#[server(endpoint = "orders/header", input = GetUrl)]
pub async fn get_order_header(id: i64) -> Result<OrderHeaderView, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    let can_set = state.odoo.client().is_none_or(|c| {
        c.caps
            .supports(crate::server::odoo::fields::Optional::VendorReference)
    });
    let h = crate::server::order_document::header(&state.db, &user, id, can_set)
        .await
        .map_err(context::internal)?
        .ok_or_else(|| context::not_found("No such order among yours."))?;
    Ok(present_header(h, &user.clock()))
}

/// The stored header as the page shows it: Odoo's last change in the user's zone.
#[cfg(feature = "ssr")]
fn present_header(
    h: crate::server::order_document::OrderHeader,
    clock: &crate::server::time::UserClock,
) -> OrderHeaderView {
    OrderHeaderView {
        order_id: h.order_id,
        order_name: h.order_name,
        company_name: h.company_name,
        company_address: h.company_address,
        company_vat: h.company_vat,
        ship_to_kind: h.ship_to_kind,
        ship_to_name: h.ship_to_name,
        ship_to_address: h.ship_to_address,
        buyer_name: h.buyer_name,
        buyer_email: h.buyer_email,
        buyer_phone: h.buyer_phone,
        payment_terms: h.payment_terms,
        incoterm: h.incoterm,
        incoterm_location: h.incoterm_location,
        partner_ref: h.partner_ref,
        can_set_reference: h.can_set_reference,
        notes: h.notes,
        currency: h.currency,
        amount_untaxed: h.amount_untaxed.map(|a| a.to_string()),
        amount_tax: h.amount_tax.map(|a| a.to_string()),
        amount_total: h.amount_total.to_string(),
        odoo_changed_at: clock.at(h.odoo_changed_at),
        note_lines: h.note_lines,
    }
}

#[server(endpoint = "orders/origins", input = GetUrl)]
pub async fn order_origins() -> Result<OriginOptions, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    crate::server::order_document::origins(&state.db, &user)
        .await
        .map_err(context::internal)
}

/// Sets (or clears, when empty) the supplier's own reference on the order; it reaches
/// Odoo's `partner_ref` through the outbox.
#[server(endpoint = "orders/reference")]
pub async fn set_vendor_reference(
    csrf_token: String,
    order_id: i64,
    reference: String,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    if let Some(c) = state.odoo.client() {
        if !c
            .caps
            .supports(crate::server::odoo::fields::Optional::VendorReference)
        {
            return Err(context::invalid(
                "The buyer's Odoo has no vendor reference on orders, so yours cannot be stored there.",
            ));
        }
    }
    match crate::server::order_document::set_reference(
        &state.db,
        &user,
        order_id,
        &reference,
        idempotency_key.as_deref(),
    )
    .await
    {
        Ok(outcome) => {
            if !outcome.already {
                state.wake_jobs();
            }
            Ok(outcome)
        }
        Err(e) => Err(context::action(e, "No such order among yours.")),
    }
}

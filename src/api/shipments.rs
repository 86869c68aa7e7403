//! Advance shipment notices: open lines to ship from, submitting, listing, cancelling.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::model::shipments::{OpenLine, ShipmentInput, ShipmentSummary};

/// Open lines of the chosen orders (`orders`: comma-separated ids), or of all the
/// supplier's orders when empty.
#[server(endpoint = "shipments/open-lines", input = GetUrl)]
pub async fn open_lines(orders: String) -> Result<Vec<OpenLine>, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    let mut ids = Vec::new();
    for part in orders.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        ids.push(
            part.parse::<i64>()
                .map_err(|_| context::invalid(format!("“{part}” is not an order id.")))?,
        );
    }
    crate::server::shipments::open_lines(&state.db, &user, &ids)
        .await
        .map_err(context::internal)
}

#[server(endpoint = "shipments/list", input = GetUrl)]
pub async fn list_shipments() -> Result<Vec<ShipmentSummary>, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    crate::server::shipments::list(&state.db, &user)
        .await
        .map_err(context::internal)
}

/// Why notices cannot prefill a receipt in the connected Odoo (it has no Inventory app), or
/// nothing when they can (or while the portal is not connected to Odoo).
#[server(endpoint = "shipments/receipt-notice", input = GetUrl)]
pub async fn receipt_prefill_notice() -> Result<Option<String>, AppError> {
    use super::context;
    let _user = context::user()?;
    let state = context::state()?;
    Ok(state.odoo.client().and_then(|c| {
        use crate::server::odoo::fields::Optional;
        (!c.caps.supports(Optional::Receipts)).then(|| {
            "The buyer's Odoo has no Inventory app, so your notices cannot prefill a receipt there: \
             each one reaches the buyer as a note on the purchase order instead, with its lines, \
             quantities, lots and tracking number, and documents are attached to the order."
                .to_string()
        })
    }))
}

#[server(endpoint = "shipments/submit")]
pub async fn submit_shipment(
    csrf_token: String,
    shipment: ShipmentInput,
    idempotency_key: Option<String>,
) -> Result<String, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    match crate::server::shipments::submit(
        &state.db,
        &user,
        &shipment,
        state.settings.over_delivery_percent,
        idempotency_key.as_deref(),
    )
    .await
    {
        Ok(number) => {
            state.wake_jobs();
            leptos_axum::redirect(&format!("/shipments?created={number}"));
            Ok(number)
        }
        Err(e) => Err(context::action(
            e,
            "One of the lines is not among your open order lines.",
        )),
    }
}

#[server(endpoint = "shipments/cancel")]
pub async fn cancel_shipment(
    csrf_token: String,
    id: i64,
    idempotency_key: Option<String>,
) -> Result<crate::domain::outcome::Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    match crate::server::shipments::cancel(&state.db, &user, id, idempotency_key.as_deref()).await {
        Ok(outcome) => {
            state.wake_jobs();
            Ok(outcome)
        }
        Err(e) => Err(context::action(e, "No such shipment notice among yours.")),
    }
}

//! `/api/v1/shipment-notices`: announcing shipments (with lots and serials) by machine.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::model::{
    ActionResult, NewShipmentNotice, ShipmentNotice, ShipmentNoticeCreated, ShipmentNoticeLine,
};
use super::{acted, action_error, internal, Authorized, IdempotencyKey, Payload};
use super::{SHIPMENTS_READ, SHIPMENTS_WRITE};
use crate::server::AppState;

/// The organisation's shipment notices, newest first (the latest 200).
#[utoipa::path(
    get,
    path = "/api/v1/shipment-notices",
    tag = "shipment notices",
    security(("token" = [])),
    responses(
        (status = 200, description = "The notices", body = Vec<ShipmentNotice>),
        (status = 403, description = "The token lacks shipments:read", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Authorized(caller): Authorized<SHIPMENTS_READ>,
) -> Response {
    match crate::server::shipments::list(&state.db, &caller.user).await {
        Ok(notices) => Json(
            notices
                .into_iter()
                .map(|n| ShipmentNotice {
                    id: n.id,
                    number: n.number,
                    status: n.status,
                    ship_date: n.ship_date,
                    expected_arrival: n.expected_arrival,
                    carrier: n.carrier,
                    tracking_number: n.tracking_number,
                    package_count: n.package_count,
                    lines: n
                        .lines
                        .into_iter()
                        .map(|l| ShipmentNoticeLine {
                            order_id: l.order_id,
                            order_number: l.order_name,
                            description: l.description,
                            quantity: l.quantity,
                            unit: super::model::Unit(l.uom),
                            lots: l.lot_numbers,
                        })
                        .collect(),
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}

/// Submits a shipment notice: the receipt in Odoo is prefilled from it.
#[utoipa::path(
    post,
    path = "/api/v1/shipment-notices",
    tag = "shipment notices",
    params(("Idempotency-Key" = String, Header, description = "A new random value per request; the same when retrying it")),
    request_body = NewShipmentNotice,
    security(("token" = [])),
    responses(
        (status = 201, description = "Submitted (the same answer again for a retried key)", body = ShipmentNoticeCreated),
        (status = 404, description = "A line is not among the organisation's open order lines", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unreadable payload (with the JSON path) or a notice the rules refuse (quantities, lots, one destination)", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    Authorized(caller): Authorized<SHIPMENTS_WRITE>,
    IdempotencyKey(key): IdempotencyKey,
    Payload(body): Payload<NewShipmentNotice>,
) -> Response {
    if body.lines.is_empty() {
        return super::invalid_at("$.lines", "list at least one order line");
    }
    let input = crate::model::shipments::ShipmentInput {
        ship_date: body.ship_date,
        expected_arrival: body.expected_arrival,
        carrier: body.carrier,
        tracking_number: body.tracking_number,
        package_count: body.package_count.to_string(),
        lines: body
            .lines
            .into_iter()
            .map(|l| crate::model::shipments::ShipmentLineInput {
                line_id: l.line_id,
                quantity: l.quantity,
                lots: l.lots.join("\n"),
            })
            .collect(),
    };
    match crate::server::shipments::submit(
        &state.db,
        &caller.user,
        &input,
        state.settings.over_delivery_percent,
        Some(&key),
    )
    .await
    {
        Ok(number) => {
            state.wake_jobs();
            (
                StatusCode::CREATED,
                Json(ShipmentNoticeCreated {
                    message: format!("Shipment notice {number} submitted."),
                    number,
                }),
            )
                .into_response()
        }
        Err(e) => action_error(
            e,
            "A line is not among your organisation's open order lines.",
        ),
    }
}

/// Cancels a shipment notice that has not been received.
#[utoipa::path(
    post,
    path = "/api/v1/shipment-notices/{id}/cancel",
    tag = "shipment notices",
    params(
        ("id" = i64, Path, description = "The notice's id"),
        ("Idempotency-Key" = String, Header, description = "A new random value per request; the same when retrying it"),
    ),
    security(("token" = [])),
    responses(
        (status = 200, description = "Cancelled now, or already (`already`)", body = ActionResult),
        (status = 404, description = "Not among the organisation's notices", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused (e.g. already received)", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Authorized(caller): Authorized<SHIPMENTS_WRITE>,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<i64>,
) -> Response {
    let result = crate::server::shipments::cancel(&state.db, &caller.user, id, Some(&key)).await;
    acted(
        &state,
        result,
        "No such shipment notice among your organisation's.",
    )
}

/// A document to attach, as `multipart/form-data`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the multipart body for the OpenAPI document
pub struct DocumentUpload {
    /// A PDF, PNG or JPEG file (recognised by its content), at most 10 MB.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Attaches a document (a delivery note, a certificate) to a shipment notice; it reaches
/// Odoo with the receipt. The same file twice is attached once.
#[utoipa::path(
    post,
    path = "/api/v1/shipment-notices/{id}/documents",
    tag = "shipment notices",
    params(
        ("id" = i64, Path, description = "The notice's id"),
        ("Idempotency-Key" = String, Header, description = "A new random value per request; the same when retrying it"),
    ),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    security(("token" = [])),
    responses(
        (status = 200, description = "Attached now, or already (`already`)", body = ActionResult),
        (status = 400, description = "No `file` part, or an unreadable body", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not among the organisation's notices", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a PDF, PNG or JPEG, larger than 10 MB, or the notice is cancelled", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn attach(
    State(state): State<AppState>,
    Authorized(caller): Authorized<SHIPMENTS_WRITE>,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<i64>,
    mut form: axum::extract::Multipart,
) -> Response {
    let unreadable = || {
        super::problem(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "Send multipart/form-data with the document in a part named `file` (at most 10 MB).",
        )
    };
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("document").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes)),
                    Err(_) => return unreadable(),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return unreadable(),
        }
    }
    let Some((name, bytes)) = file else {
        return unreadable();
    };
    let result = crate::server::documents::attach(
        &state.db,
        &state.settings.upload_dir,
        &caller.user,
        id,
        &name,
        &bytes,
        Some(&key),
    )
    .await;
    acted(
        &state,
        result,
        "No such shipment notice among your organisation's.",
    )
}

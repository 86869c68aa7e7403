//! `/api/v1/orders`: the supplier's orders, read and answered by its own systems.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{
    instant, ActionResult, LineAnswer, Order, OrderChange, OrderChanges, OrderStatus,
};
use super::{acted, internal, problem, Authorized, IdempotencyKey, Payload};
use super::{ORDERS_READ, ORDERS_WRITE};
use crate::server::AppState;

const MAX_PAGE: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` of the previous page; absent for the first.
    after: Option<String>,
    /// At most this many orders (1 to 200, default 50).
    limit: Option<i64>,
}

/// Orders that changed since the cursor, oldest change first.
#[utoipa::path(
    get,
    path = "/api/v1/orders",
    tag = "orders",
    params(ChangesQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of changed orders", body = OrderChanges),
        (status = 400, description = "A malformed cursor or limit", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks orders:read", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (see Retry-After)", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Authorized(caller): Authorized<ORDERS_READ>,
    Query(q): Query<ChangesQuery>,
) -> Response {
    let (after, limit) = match super::page_args(q.after.as_deref(), "", q.limit, 50, MAX_PAGE) {
        Ok(args) => args,
        Err(refusal) => return refusal,
    };
    // One more than asked tells whether more wait.
    let mut rows =
        match crate::server::order_feed::changed_since(&state.db, &caller.user, after, limit + 1)
            .await
        {
            Ok(r) => r,
            Err(e) => return internal(e),
        };
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = rows
        .last()
        .map(|r| r.seq.to_string())
        .or_else(|| (after > 0).then(|| after.to_string()));
    let mut orders = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(status) = OrderStatus::of_code(&r.status) else {
            return internal(format_args!("order {}: unknown status {}", r.id, r.status));
        };
        orders.push(OrderChange {
            id: r.id,
            number: r.name,
            status,
            changed_at: instant(&r.changed_at),
        });
    }
    Json(OrderChanges {
        orders,
        next_cursor,
        has_more,
    })
    .into_response()
}

/// One order with its lines.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 404, description = "Not among the organisation's orders", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn one(
    State(state): State<AppState>,
    Authorized(caller): Authorized<ORDERS_READ>,
    Path(id): Path<i64>,
) -> Response {
    match crate::server::orders::detail(&state.db, &caller.user, id, state.settings.tolerance).await
    {
        Ok(Some(d)) => Json(crate::server::canonical::order_of(d)).into_response(),
        Ok(None) => not_found(),
        Err(e) => internal(e),
    }
}

/// The order's receipts in Odoo and what each line received.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/receipts",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "Receipts and received quantities", body = crate::server::canonical::ReceiptStatus),
        (status = 404, description = "Not among the organisation's orders", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn receipts(
    State(state): State<AppState>,
    Authorized(caller): Authorized<ORDERS_READ>,
    Path(id): Path<i64>,
) -> Response {
    match crate::server::orders::detail(&state.db, &caller.user, id, state.settings.tolerance).await
    {
        Ok(Some(d)) => Json(crate::server::canonical::receipts_of(d)).into_response(),
        Ok(None) => not_found(),
        Err(e) => internal(e),
    }
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such order among your organisation's.",
    )
}

/// Acknowledges receipt of the order.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/acknowledge",
    tag = "orders",
    params(
        ("id" = i64, Path, description = "The order's id"),
        ("Idempotency-Key" = String, Header, description = "A new random value per request; the same when retrying it"),
    ),
    security(("token" = [])),
    responses(
        (status = 200, description = "Acknowledged now, or already (`already`)", body = ActionResult),
        (status = 404, description = "Not among the organisation's orders", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused (e.g. a cancelled order), or the key was used for another request", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    Authorized(caller): Authorized<ORDERS_WRITE>,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<i64>,
) -> Response {
    let result = crate::server::orders::acknowledge(&state.db, &caller.user, id, Some(&key)).await;
    acted(&state, result, "No such order among your organisation's.")
}

/// Answers one line: accept it, propose another date or quantity, or reject it.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/lines/{line_id}/answer",
    tag = "orders",
    params(
        ("id" = i64, Path, description = "The order's id"),
        ("line_id" = i64, Path, description = "The line's id"),
        ("Idempotency-Key" = String, Header, description = "A new random value per request; the same when retrying it"),
    ),
    request_body = LineAnswer,
    security(("token" = [])),
    responses(
        (status = 200, description = "Recorded now, or already (`already`)", body = ActionResult),
        (status = 404, description = "Not among the organisation's order lines", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unreadable payload (with the JSON path) or an answer the rules refuse", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn answer(
    State(state): State<AppState>,
    Authorized(caller): Authorized<ORDERS_WRITE>,
    IdempotencyKey(key): IdempotencyKey,
    Path((id, line_id)): Path<(i64, i64)>,
    Payload(body): Payload<LineAnswer>,
) -> Response {
    if !matches!(body.answer.as_str(), "accept" | "propose" | "reject") {
        return super::invalid_at("$.answer", "must be accept, propose or reject");
    }
    let input = crate::server::orders::AnswerInput {
        answer: body.answer,
        proposed_date: body.proposed_date.unwrap_or_default(),
        proposed_quantity: body.proposed_quantity.unwrap_or_default(),
        reason: body.reason.unwrap_or_default(),
    };
    let result = crate::server::orders::answer_line(
        &state.db,
        &caller.user,
        id,
        line_id,
        &input,
        &state.settings.tolerance,
        Some(&key),
    )
    .await;
    acted(
        &state,
        result,
        "No such order line among your organisation's.",
    )
}

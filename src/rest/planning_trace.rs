//! `GET /api/v1/planning/traces`: the trace of issue 14 (`server::planning::trace`) for the
//! planning platform and staff integrations, with a staff token of scope `planning:read`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::planning_supply::PLANNING_READ;
use super::{internal, problem, Authorized};
use crate::model::planning_trace::Trace;
use crate::server::companies::CompanyScope;
use crate::server::planning::trace::{self, From};
use crate::server::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceParams {
    /// Trace forward from this version (its snapshot id, as `/api/v1/planning/forecasts` answered).
    pub version: Option<i64>,
    /// With `version`: only this planning item.
    pub item: Option<String>,
    /// Trace back from this purchase order (the portal's order id).
    pub order: Option<i64>,
}

/// Forward from a version (optionally one item) to its demand signals, the Odoo records
/// written from them, the purchase orders that answer them with the suppliers' answers,
/// shipment notices and receipts; or back from an order to the signals and versions that
/// caused it. Exactly one of `version` and `order`.
#[utoipa::path(
    get,
    path = "/api/v1/planning/traces",
    tag = "planning",
    params(TraceParams),
    security(("token" = [])),
    responses(
        (status = 200, description = "The trace", body = Trace),
        (status = 403, description = "The token lacks planning:read", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version or order", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of version and order", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn traces(
    State(state): State<AppState>,
    Authorized(_caller): Authorized<PLANNING_READ>,
    Query(params): Query<TraceParams>,
) -> Response {
    let from = match (params.version, params.order) {
        (Some(import_id), None) => From::Version {
            import_id,
            item: params.item,
        },
        (None, Some(order)) if params.item.is_none() => From::Order(order),
        _ => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_trace_start",
                "Give exactly one of version (optionally with item) and order.",
            )
        }
    };
    // Planning tokens are staff's: every company.
    match trace::trace(&state.db, &CompanyScope::All, &from).await {
        Ok(Some(t)) => Json(t).into_response(),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such version or order.",
        ),
        Err(e) => internal(format_args!("planning trace: {e}")),
    }
}

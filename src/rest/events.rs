//! `/api/v1/events`: the pull feed, for systems that cannot receive webhooks. The same
//! events the webhooks carry, oldest first after a cursor, kept for the retention period.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{internal, problem, Authorized, EVENTS_READ};
use crate::server::canonical::Event;
use crate::server::events::{self, Audience};
use crate::server::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `next_cursor` of the previous page (or an event's id); absent for the oldest
    /// events kept.
    after: Option<String>,
    /// At most this many events (1 to 500, default 100).
    limit: Option<i64>,
    /// Only these types, comma-separated (e.g. `order.acknowledged,shipment_notice.submitted`).
    types: Option<String>,
}

/// A page of the feed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `after` for the next page; the same value later returns what happened since.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// Events after the cursor, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(FeedQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "A malformed cursor, limit or type", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks events:read", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The cursor is older than the events kept (`cursor_expired`): start again without `after` and reconcile", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (see Retry-After)", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Authorized(caller): Authorized<EVENTS_READ>,
    Query(q): Query<FeedQuery>,
) -> Response {
    let (after, limit) = match super::page_args(q.after.as_deref(), "evt_", q.limit, 100, 500) {
        Ok(args) => args,
        Err(refusal) => return refusal,
    };
    let staff = caller.user.supplier_id.is_none();
    let mut types = Vec::new();
    for t in q.types.as_deref().unwrap_or("").split(',').map(str::trim) {
        if t.is_empty() {
            continue;
        }
        match events::event_type(t) {
            Some(e) if staff || !e.staff_only => types.push(e.code.to_string()),
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid_type",
                    &format!("`{t}` is not an event type of the feed (README, event types)."),
                )
            }
        }
    }
    let audience = match caller.user.supplier_id {
        Some(s) => Audience::Supplier(s),
        None => Audience::Staff,
    };
    // A cursor below what is kept has missed events for good: say so instead of skipping.
    if after > 0 {
        match events::oldest(&state.db).await {
            Ok(Some(oldest)) if after + 1 < oldest => {
                return problem(
                    StatusCode::GONE,
                    "cursor_expired",
                    &format!("Events before evt_{oldest} are no longer kept (retention {} days); start again without `after` and reconcile with /api/v1/orders.", state.settings.event_retention_days),
                )
            }
            Ok(_) => {}
            Err(e) => return internal(e),
        }
    }
    match events::after(&state.db, audience, after, &types, limit + 1).await {
        Ok(mut page) => {
            let has_more = page.len() as i64 > limit;
            page.truncate(limit as usize);
            let next_cursor = page
                .last()
                .map(|e| e.id.clone())
                .or_else(|| (after > 0).then(|| format!("evt_{after}")));
            Json(EventPage {
                events: page,
                next_cursor,
                has_more,
            })
            .into_response()
        }
        Err(e) => internal(e),
    }
}

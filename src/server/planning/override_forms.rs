//! The plain forms of overrides and auto-approval (they work before hydration; the request
//! guard checks their CSRF token), and the supply export as a download for the planning
//! pages. Each form answers with a redirect to the page it came from, with `saved` or
//! `error`.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::forms::{fields, ip_of, planner, refused, to, value, Ip, User};
use super::overrides::{self, OverrideForm};
use super::{auto_approval, supply_export};
use crate::server::problem::Problem;
use crate::server::AppState;

/// The routes of this file, merged into the app's (beside `forms`').
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/planning/overrides", post(create))
        .route("/planning/overrides/{id}/remove", post(remove))
        .route("/planning/auto-approval", post(set_rule))
        .route("/planning/supply.csv", get(supply_csv))
}

/// The planning page a form returns to: its `back` field when that is a planning page
/// (its query kept, less an earlier outcome), else the versions.
fn back(f: &[(String, String)]) -> String {
    let b = value(f, "back");
    if !b.starts_with("/planning") || b.contains("//") || b.contains('\\') {
        return "/planning".into();
    }
    match b.split_once('?') {
        None => b.to_string(),
        Some((path, query)) => {
            let kept: Vec<(String, String)> =
                serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| k != "saved" && k != "error")
                    .collect();
            match serde_urlencoded::to_string(&kept) {
                Ok(q) if !q.is_empty() => format!("{path}?{q}"),
                _ => path.to_string(),
            }
        }
    }
}

/// `POST /planning/overrides`: `item`, `location`, `bucket_start`, `quantity`, `reason`,
/// `until`, `back`.
pub async fn create(
    State(state): State<AppState>,
    user: User,
    ip: Ip,
    body: axum::body::Bytes,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let f = fields(&body);
    let page = back(&f);
    let form = OverrideForm {
        item: value(&f, "item"),
        location: value(&f, "location"),
        bucket_start: value(&f, "bucket_start"),
        quantity: value(&f, "quantity"),
        reason: value(&f, "reason"),
        until: value(&f, "until"),
    };
    match overrides::create(&state.db, &user, &form, &ip_of(ip)).await {
        Ok(m) => to(&page, "saved", &m),
        Err(e) => refused(&page, e, "No such bucket."),
    }
}

/// `POST /planning/overrides/{id}/remove`: `back`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: User,
    ip: Ip,
    body: axum::body::Bytes,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let page = back(&fields(&body));
    match overrides::remove(&state.db, &user, id, &ip_of(ip)).await {
        Ok(m) => to(&page, "saved", &m),
        Err(e) => refused(&page, e, "No such override."),
    }
}

/// `POST /planning/auto-approval`: `source` (empty: every source), `max_percent`,
/// `max_absolute` (both empty: off).
pub async fn set_rule(
    State(state): State<AppState>,
    user: User,
    ip: Ip,
    body: axum::body::Bytes,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let f = fields(&body);
    match auto_approval::set_rule(
        &state.db,
        &user,
        value(&f, "source"),
        value(&f, "max_percent"),
        value(&f, "max_absolute"),
        &ip_of(ip),
    )
    .await
    {
        Ok(m) => to("/planning/rules", "saved", &m),
        Err(e) => refused("/planning/rules", e, "No such rule."),
    }
}

/// `GET /planning/supply.csv`: the supply export for a signed-in planner.
pub async fn supply_csv(State(state): State<AppState>, user: User) -> Response {
    if let Err(r) = planner(user) {
        return *r;
    }
    match supply_export::rows(&state.db).await {
        Ok(rows) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"millrace-supply.csv\"",
                ),
            ],
            supply_export::csv(&rows),
        )
            .into_response(),
        Err(e) => Problem::internal(format_args!("planning supply export: {e}")).into_response(),
    }
}

//! The planning pages' plain forms (they work before hydration and without JavaScript):
//! the multipart upload (which checks its CSRF token itself: the request guard does not
//! read multipart bodies), validate again, approve, the mapping edits, and the report as
//! CSV. Each answers with a redirect to the page that shows the outcome.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::intake::{self, Format, Limits, Sent, Stager};
use super::PlanningError;
use crate::domain::planning::SnapshotKind;
use crate::model::planning::Profile;
use crate::server::auth::csrf::ClientIp;
use crate::server::auth::session::CSRF_KEY;
use crate::server::auth::CurrentUser;
use crate::server::idempotency;
use crate::server::problem::Problem;
use crate::server::AppState;

/// The largest file the upload page takes (the API takes what its body limit allows).
pub const MAX_UPLOAD_BYTES: usize = 200 * 1024 * 1024;

/// The path the multipart upload posts to (the request guard leaves its token to it).
pub const UPLOAD_PATH: &str = "/planning/imports";

pub(super) type User = Option<axum::Extension<CurrentUser>>;
pub(super) type Ip = Option<axum::Extension<ClientIp>>;

pub(super) fn ip_of(ip: Ip) -> String {
    ip.map(|i| i.0 .0).unwrap_or_else(|| "unknown".into())
}

/// The signed-in planner, or the answer for anyone else.
pub(super) fn planner(user: User) -> Result<CurrentUser, Box<Response>> {
    match user {
        None => Err(Box::new(Redirect::to("/login").into_response())),
        Some(axum::Extension(u)) if u.plans() => Ok(u),
        Some(_) => Err(Box::new(
            Problem::forbidden("for planners only").into_response(),
        )),
    }
}

pub(super) fn to(page: &str, key: &str, message: &str) -> Response {
    let q = serde_urlencoded::to_string([(key, message)]).unwrap_or_default();
    let joint = if page.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{page}{joint}{q}")).into_response()
}

pub(super) fn refused(page: &str, e: PlanningError, missing: &str) -> Response {
    let p = e.into_problem(missing);
    if p.status.is_server_error() {
        return p.into_response();
    }
    to(page, "error", &p.detail)
}

/// `POST /planning/imports`: `csrf_token` first, then `kind`, `source`, `snapshot_id` and
/// `file` (multipart). The file is written to disk as it arrives.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    user: User,
    ip: Ip,
    mut form: Multipart,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let expected: Option<String> = session.get(CSRF_KEY).await.ok().flatten();
    let mut token_ok = false;
    let mut kind = SnapshotKind::Forecast;
    let mut source = String::new();
    let mut snapshot_id: Option<String> = None;
    let mut staged = None;
    let mut file_name = String::new();
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return to(
                    "/planning",
                    "error",
                    "The upload was cut off or is larger than 200 MB.",
                )
            }
        };
        match field.name() {
            Some("csrf_token") => {
                let given = field.text().await.unwrap_or_default();
                token_ok = expected
                    .as_deref()
                    .is_some_and(|e| bool::from(given.as_bytes().ct_eq(e.as_bytes())));
            }
            Some("kind") => {
                let k = field.text().await.unwrap_or_default();
                match SnapshotKind::from_code(k.trim()) {
                    Some(k) => kind = k,
                    None => {
                        return to(
                            "/planning",
                            "error",
                            "Choose forecast or supply recommendations.",
                        )
                    }
                }
            }
            Some("source") => source = field.text().await.unwrap_or_default(),
            Some("snapshot_id") => snapshot_id = field.text().await.ok(),
            Some("file") if token_ok => {
                file_name = field.file_name().unwrap_or("planning.csv").to_string();
                let mut stager = match Stager::new(&state.settings.upload_dir).await {
                    Ok(s) => s,
                    Err(e) => {
                        return Problem::internal(format_args!("staging a planning file: {e}"))
                            .into_response()
                    }
                };
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if let Err(e) = stager.write(&chunk).await {
                                stager.discard().await;
                                return Problem::internal(format_args!(
                                    "staging a planning file: {e}"
                                ))
                                .into_response();
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            stager.discard().await;
                            return to(
                                "/planning",
                                "error",
                                "The upload was cut off or is larger than 200 MB.",
                            );
                        }
                    }
                }
                if stager.size == 0 {
                    stager.discard().await;
                    return to("/planning", "error", "Choose a file to import.");
                }
                match stager.finish().await {
                    Ok(s) => staged = Some(s),
                    Err(e) => {
                        return Problem::internal(format_args!("staging a planning file: {e}"))
                            .into_response()
                    }
                }
            }
            _ => {}
        }
    }
    if !token_ok {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "the form was missing its security token or it expired: reload the page and try again",
        )
        .into_response();
    }
    let Some(staged) = staged else {
        return to("/planning", "error", "Choose a file to import.");
    };
    let sent = Sent {
        kind,
        source: if source.trim().is_empty() {
            "upload".into()
        } else {
            source
        },
        snapshot_id,
        format: Format::guess(&file_name, &staged.first_bytes),
        file_name,
    };
    match intake::receive(
        &state.db,
        &Limits::of(&state.settings),
        &user,
        &sent,
        &staged,
        &ip_of(ip),
    )
    .await
    {
        Ok(r) => to(
            &format!("/planning/versions/{}", r.import_id),
            "saved",
            &r.message,
        ),
        Err(e) => refused("/planning", e, "No such snapshot."),
    }
}

/// `POST /planning/imports/{id}/validate`: validates a rejected snapshot again with the
/// mapping as it is now.
pub async fn revalidate(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: User,
    ip: Ip,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let page = format!("/planning/versions/{id}");
    match intake::validate(
        &state.db,
        &Limits::of(&state.settings),
        &user,
        id,
        &ip_of(ip),
    )
    .await
    {
        Ok(r) => to(&page, "saved", &r.message),
        Err(e) => refused(&page, e, "No such snapshot."),
    }
}

/// `GET /planning/imports/{id}/report.csv`
pub async fn report(State(state): State<AppState>, Path(id): Path<i64>, user: User) -> Response {
    if let Err(r) = planner(user) {
        return *r;
    }
    match intake::report_csv(&state.db, id).await {
        Ok(Some(csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"planning-{id}-report.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Ok(None) => Problem::not_found("No such snapshot.").into_response(),
        Err(e) => Problem::internal(format_args!("planning report: {e}")).into_response(),
    }
}

pub(super) fn fields(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub(super) fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// `POST /planning/versions/{id}/approve`
pub async fn approve(
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
    let f = fields(&body);
    let key = Some(value(&f, idempotency::FIELD)).filter(|k| !k.is_empty());
    let page = format!("/planning/versions/{id}");
    let rfqs = state.settings.planning_rfqs;
    match super::approve(&state.db, &user, id, &ip_of(ip), key, rfqs).await {
        Ok(o) => to(&page, "saved", &o.message),
        Err(e) => refused(&page, e, "No such version."),
    }
}

/// `POST /planning/mapping/{what}` (`item`, `location`, `unit`, `profile`): saves one mapping.
pub async fn save_mapping(
    State(state): State<AppState>,
    Path(what): Path<String>,
    user: User,
    ip: Ip,
    body: axum::body::Bytes,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let f = fields(&body);
    let ip = ip_of(ip);
    let db = &state.db;
    use super::mapping;
    let result = match what.as_str() {
        "item" => {
            mapping::set_item(db, &user, value(&f, "item_code"), value(&f, "product"), &ip).await
        }
        "location" => {
            let id = value(&f, "warehouse_odoo_id").trim();
            let id = if id.is_empty() {
                None
            } else {
                match id.parse::<i64>() {
                    Ok(i) => Some(i),
                    Err(_) => {
                        return to(
                            "/planning/mapping",
                            "error",
                            "The warehouse's Odoo id is a number (or leave it empty).",
                        )
                    }
                }
            };
            mapping::set_location(
                db,
                &user,
                value(&f, "location_code"),
                value(&f, "warehouse_code"),
                id,
                &ip,
            )
            .await
        }
        "unit" => {
            mapping::set_unit(
                db,
                &user,
                value(&f, "unit_code"),
                value(&f, "uom_name"),
                value(&f, "factor"),
                &ip,
            )
            .await
        }
        "profile" => {
            let profile = Profile {
                source: value(&f, "source").into(),
                columns: value(&f, "columns").into(),
                date_format: value(&f, "date_format").into(),
                decimal_separator: value(&f, "decimal_separator").into(),
                delimiter: value(&f, "delimiter").into(),
            };
            mapping::set_profile(db, &user, &profile, &ip).await
        }
        _ => return Problem::not_found("No such mapping.").into_response(),
    };
    match result {
        Ok(message) => to("/planning/mapping", "saved", &message),
        Err(e) => refused("/planning/mapping", e, "No such mapping."),
    }
}

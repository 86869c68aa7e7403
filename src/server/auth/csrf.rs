//! The request guard in front of every route: gives each session a CSRF token, loads the
//! signed-in user, refuses state-changing requests without the session's token (form field
//! `csrf_token` or header `x-csrf-token`) or from another origin, and sends anonymous
//! visitors of pages to `/login`; keeps suppliers out of `/buyer`, all but admins out of
//! `/admin`, all but planners and admins out of `/planning` (but for its `signals` pages,
//! which buyers use too).

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::session::{load_user, CSRF_KEY};
use crate::server::AppState;

pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
const MAX_FORM_BYTES: usize = 1 << 20;

/// The session's CSRF token, for rendering into forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The caller's address, for rate limiting and the audit log.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Pages anyone may open.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/password-reset")
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path.starts_with("/hooks/")
        || path.starts_with("/dev/mailbox")
        || matches!(
            path,
            "/favicon.ico" | "/healthz" | "/readyz" | "/metrics" | "/robots.txt"
        )
}

fn refuse(message: &str) -> Response {
    crate::server::problem::response(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        message,
        serde_json::Value::Null,
    )
}

pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    // Static files and machine endpoints need no session, user or token: skip the session
    // store for them (every page loads the bundle, the stylesheet and the icon; monitoring
    // polls /healthz, /readyz and /metrics; Odoo posts webhooks).
    let path = req.uri().path();
    if is_sessionless(req.method(), path) {
        return next.run(req).await;
    }
    // A session (a row in the store) is made only where a form needs its token: for a
    // visitor not signed in, the sign-in and password pages and posts. Anything else they
    // ask for redirects to the sign-in page without making one.
    let anonymous_elsewhere = !has_session_cookie(&req) && !needs_token_when_anonymous(path);
    let token = match session.get::<String>(CSRF_KEY).await {
        Ok(Some(t)) => t,
        _ if anonymous_elsewhere => String::new(),
        _ => {
            let t = new_token();
            if session.insert(CSRF_KEY, t.clone()).await.is_err() {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "session storage unavailable",
                )
                    .into_response();
            }
            t
        }
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    req.extensions_mut().insert(ClientIp(ip));
    req.extensions_mut().insert(CsrfToken(token.clone()));
    if let Some(user) = load_user(&state.db, &session).await {
        super::session::keep_alive(&session, state.clock.now()).await;
        req.extensions_mut().insert(user);
    }
    // A page after a form post: what the form's action answered (`server::flash`).
    if req.method() == Method::GET
        && !req.uri().path().starts_with("/api/")
        && has_session_cookie(&req)
    {
        if let Some(flash) = crate::server::flash::take(&state, &session).await {
            req.extensions_mut().insert(flash);
        }
    }

    let path = req.uri().path().to_string();
    let state_changing = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if state_changing && !path.starts_with("/hooks/") {
        // Another site's page posting here: its Origin differs from our Host.
        if let (Some(origin), Some(host)) = (
            req.headers().get(header::ORIGIN),
            req.headers().get(header::HOST),
        ) {
            let origin = origin.to_str().unwrap_or_default();
            let host = host.to_str().unwrap_or_default();
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            if origin_host != host {
                return refuse("this request came from another site and was refused");
            }
        }
        let header_token = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let given = if header_token.is_some() {
            header_token
        } else if is_form {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
            };
            let fields: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
            let given = fields
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.clone());
            // The field stays in the body: state-changing server functions declare it, so a
            // hydrated ActionForm (which re-encodes only declared arguments) sends it too.
            req = Request::from_parts(parts, Body::from(bytes));
            given
        } else {
            None
        };
        // Uploads are multipart, which this guard does not read: their handlers check the
        // token themselves (server::documents::upload, server::planning::forms::upload).
        // No other multipart route exists.
        let checked_by_handler = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"))
            && (is_document_upload(&path) || path == crate::server::planning::forms::UPLOAD_PATH);
        let valid = checked_by_handler
            || (!token.is_empty()
                && given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.as_bytes()))));
        if !valid {
            return refuse("the form was missing its security token or it expired: reload the page and try again");
        }
    }

    let signed_in = req.extensions().get::<super::CurrentUser>().is_some();
    if !state_changing && !signed_in && !is_public(&path) {
        let next_path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let target = format!("/login?next={}", urlencode(&next_path));
        return Redirect::to(&target).into_response();
    }
    if let Some(user) = req.extensions().get::<super::CurrentUser>() {
        // Demand signals and the trace are for buyers too (they decide conflicts on
        // reordering rules, and follow an order back to the plan).
        let signals = path.starts_with("/planning/signals/") || path == "/planning/trace";
        let internal_only = path.starts_with("/buyer") || path.starts_with("/admin") || signals;
        let admin_only = path.starts_with("/admin");
        let planning = (path == "/planning" || path.starts_with("/planning/")) && !signals;
        if (internal_only && !user.is_internal())
            || (admin_only && user.role != super::session::Role::Admin)
            || (planning && !user.plans())
        {
            let whom = if admin_only {
                "administrators"
            } else if planning {
                "planners"
            } else {
                "the buyer's staff"
            };
            return (StatusCode::FORBIDDEN, axum::response::Html(format!("<h1>Forbidden</h1><p>This page is for {whom} only.</p><p><a href=\"/orders\">Back to your orders</a></p>"))).into_response();
        }
    }
    next.run(req).await
}

/// The session cookie's name (the session layer sets it; the guard looks for it).
pub const SESSION_COOKIE: &str = "millrace_session";

/// Requests that never touch the session store.
fn is_sessionless(method: &Method, path: &str) -> bool {
    (*method == Method::GET || *method == Method::HEAD)
        && (path.starts_with("/pkg/")
            || matches!(
                path,
                "/favicon.ico" | "/healthz" | "/readyz" | "/metrics" | "/robots.txt"
            ))
        || path.starts_with("/hooks/")
}

/// Pages and posts a visitor who is not signed in uses with a form: they need a token.
fn needs_token_when_anonymous(path: &str) -> bool {
    matches!(path, "/login" | "/api/login")
        || path.starts_with("/password-reset")
        || path.starts_with("/api/password-reset")
}

fn has_session_cookie(req: &Request) -> bool {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| {
            c.split(';').any(|kv| {
                kv.trim_start()
                    .strip_prefix(SESSION_COOKIE)
                    .is_some_and(|rest| rest.starts_with('='))
            })
        })
}

/// `/shipments/<id>/documents`
fn is_document_upload(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["shipments", id, "documents"] if id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty())
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .unwrap_or_default()
        .trim_start_matches("x=")
        .to_string()
}

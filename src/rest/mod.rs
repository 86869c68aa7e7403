//! `/api/v1`: the versioned REST API for suppliers' and the manufacturer's own systems
//! (issue 15). An adapter like the server functions: it authenticates a bearer token
//! (`server::tokens`), checks the token's scope, calls the same services the pages call
//! (scoped, transactional, through the outbox) and presents their results as the canonical
//! representations of `model`.
//!
//! Governance: every error is `application/problem+json` (RFC 9457) with a stable `code`
//! and, for an unreadable payload, the JSON path of the problem; a token's requests are
//! rate limited (GCRA, `governor`; 429 with `Retry-After`); every POST carries an
//! `Idempotency-Key` (the first result is replayed for the same key and body, another body
//! with the same key is refused); lists page with an opaque cursor. No cookies, no CSRF on
//! this surface (the CSRF guard and the session layer skip it); tokens never in URLs.
//!
//! The OpenAPI 3.1 document (`/api/v1/openapi.json`) is generated from the handlers and
//! types (`utoipa`); `routes()` is the single list the router is built from, and a test
//! checks that it and the document name the same operations.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde_json::{json, Value};
use utoipa::OpenApi;

use crate::server::orders::ActionError;
use crate::server::tokens::{self, Caller, Scope};
use crate::server::AppState;

mod events;
mod exceptions;
pub mod model;
mod orders;
mod planning;
mod planning_supply;
mod planning_trace;
mod shipments;

/// Where the API is served.
pub const PREFIX: &str = "/api/v1";

/// Requests per token on this instance.
pub type Limiter = governor::DefaultKeyedRateLimiter<i64>;

/// `per_minute` requests a minute per token, in bursts of a quarter of that.
pub fn limiter(per_minute: u32) -> Limiter {
    let rate = NonZeroU32::new(per_minute.max(4)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new((per_minute / 4).max(1)).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_minute(rate).allow_burst(burst))
}

/// Every operation: method, path (as in the OpenAPI document) and handler.
pub fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/api/v1/orders", get(orders::list)),
        (Method::GET, "/api/v1/orders/{id}", get(orders::one)),
        (
            Method::POST,
            "/api/v1/orders/{id}/acknowledge",
            post(orders::acknowledge),
        ),
        (
            Method::POST,
            "/api/v1/orders/{id}/lines/{line_id}/answer",
            post(orders::answer),
        ),
        (
            Method::GET,
            "/api/v1/shipment-notices",
            get(shipments::list),
        ),
        (
            Method::POST,
            "/api/v1/shipment-notices",
            post(shipments::submit),
        ),
        (
            Method::POST,
            "/api/v1/shipment-notices/{id}/cancel",
            post(shipments::cancel),
        ),
        (
            Method::POST,
            "/api/v1/shipment-notices/{id}/documents",
            post(shipments::attach).layer(axum::extract::DefaultBodyLimit::max(
                crate::server::documents::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        ),
        (
            Method::GET,
            "/api/v1/orders/{id}/receipts",
            get(orders::receipts),
        ),
        (Method::GET, "/api/v1/events", get(events::list)),
        (Method::GET, "/api/v1/exceptions", get(exceptions::list)),
        (
            Method::POST,
            "/api/v1/planning/forecasts",
            post(planning::send_snapshot),
        ),
        (
            Method::GET,
            "/api/v1/planning/supply",
            get(planning_supply::supply),
        ),
        (
            Method::GET,
            "/api/v1/planning/traces",
            get(planning_trace::traces),
        ),
    ]
}

/// The API's routes, to nest at [`PREFIX`] outside the browser's session and CSRF layers:
/// the operations behind the token check, and the document open to all.
pub fn router(state: AppState) -> Router<AppState> {
    let mut api = Router::new();
    // Two methods on one path merge into one route.
    for (_, path, handler) in routes() {
        api = api.route(&path[PREFIX.len()..], handler);
    }
    let api = api.layer(axum::middleware::from_fn_with_state(state, authenticate));
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/planning/schema", get(planning::schema))
        .merge(api)
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such operation in /api/v1 (see /api/v1/openapi.json).",
            )
        })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Millrace API",
        version = "1.0.0",
        description = "Suppliers' and the manufacturer's own systems: orders, answers and shipment notices. Errors are application/problem+json with a stable `code`. Every POST needs an `Idempotency-Key` header. Deprecations are announced with `Deprecation` and `Sunset` headers at least 180 days ahead (README, API section)."
    ),
    paths(
        orders::list,
        orders::one,
        orders::acknowledge,
        orders::answer,
        shipments::list,
        shipments::submit,
        shipments::cancel,
        shipments::attach,
        orders::receipts,
        events::list,
        exceptions::list,
        planning::send_snapshot,
        planning_supply::supply,
        planning_trace::traces
    ),
    modifiers(&BearerAuth),
    tags((name = "orders"), (name = "shipment notices"), (name = "events"), (name = "exceptions"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token created on the team's API tokens page"))
                    .build(),
            ),
        );
    }
}

async fn openapi_json() -> Response {
    match ApiDoc::openapi().to_pretty_json() {
        Ok(doc) => ([(header::CONTENT_TYPE, "application/json")], doc).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document did not serialize");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The API description is unavailable.",
            )
        }
    }
}

/// A feed's `after` (the `next_cursor` of a previous page, with or without `prefix`; absent
/// or empty: from the start) and `limit` (1 to `max`, `default` when absent), or the
/// problem to answer.
pub fn page_args(
    after: Option<&str>,
    prefix: &str,
    limit: Option<i64>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), Response> {
    let after = match after.map(str::trim) {
        None | Some("") => 0,
        Some(c) => match c.strip_prefix(prefix).unwrap_or(c).parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                return Err(problem(
                    StatusCode::BAD_REQUEST,
                    "invalid_cursor",
                    "`after` takes the `next_cursor` of a previous page, as it was given.",
                ))
            }
        },
    };
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "invalid_limit",
            &format!("`limit` is 1 to {max}."),
        ));
    }
    Ok((after, limit))
}

/// A problem answer (RFC 9457) with a stable `code`.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    crate::server::problem::response(status, code, detail, Value::Null)
}

/// An unreadable payload: the JSON path of the problem and what is wrong there.
pub fn invalid_at(path: &str, message: &str) -> Response {
    crate::server::problem::response(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_payload",
        &format!("{path}: {message}"),
        json!({"errors": [{"path": path, "message": message}]}),
    )
}

/// A service's refusal as the API answers it: the services' own problem (status, stable
/// code, sentence), with the JSON path of the field at fault where there is one.
pub fn action_error(e: ActionError, not_found: &str) -> Response {
    match e {
        // The services' sentences speak of forms; a program is told about its header.
        ActionError::Key(crate::server::idempotency::IdempotencyError::KeyReused) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key for a new request.",
        ),
        ActionError::Key(_) => problem(
            StatusCode::BAD_REQUEST,
            "idempotency_key_malformed",
            "The Idempotency-Key must be 1 to 100 letters, digits, '-' or '_'.",
        ),
        e => {
            let p = e.into_problem(not_found);
            let extra = match (&p.field, &p.reference) {
                (Some(field), _) => {
                    json!({"errors": [{"path": format!("$.{field}"), "message": p.detail}]})
                }
                (None, Some(reference)) => json!({"reference": reference}),
                (None, None) => Value::Null,
            };
            crate::server::problem::response(p.status, p.code, &p.detail, extra)
        }
    }
}

/// An action's answer: what it did (and the outbox told there is work), or its refusal.
pub fn acted(
    state: &AppState,
    result: Result<crate::domain::outcome::Outcome, ActionError>,
    not_found: &str,
) -> Response {
    match result {
        Ok(o) => {
            state.wake_jobs();
            state.wake_jobs();
            axum::Json(model::ActionResult {
                already: o.already,
                message: o.message,
            })
            .into_response()
        }
        Err(e) => action_error(e, not_found),
    }
}

/// Our bug: logged with a reference the caller can quote.
pub fn internal(e: impl std::fmt::Display) -> Response {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    tracing::error!(error = %e, reference, "api request failed");
    crate::server::problem::response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        &format!("Something went wrong on our side (reference {reference}); nothing was half-written. Try again."),
        json!({"reference": reference}),
    )
}

/// The token check and rate limit in front of every operation: the caller goes into the
/// request's extensions.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(String::from);
    let Some(bearer) = bearer else {
        return unauthorized("Send an API token: `Authorization: Bearer <token>`.");
    };
    let caller = match tokens::authenticate(&state.db, &bearer).await {
        Ok(c) => c,
        Err(tokens::TokenRefused::Unknown) => {
            return unauthorized("The token is unknown or was revoked.")
        }
        Err(tokens::TokenRefused::Expired(at)) => {
            return unauthorized(&format!(
                "The token expired at {at} UTC; ask your admin for a new one."
            ))
        }
        Err(tokens::TokenRefused::Db(e)) => return internal(e),
    };
    if let Err(not_until) = state.api_limiter.check_key(&caller.token_id) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!("Too many requests with this token; try again in {seconds} s."),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        return r;
    }
    if req.method() == Method::POST {
        match req.headers().get("idempotency-key").map(|v| v.to_str()) {
            Some(Ok(k)) if !k.trim().is_empty() => {}
            _ => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_missing",
                    "Every POST needs an `Idempotency-Key` header (a new random value per request; the same value when retrying it).",
                )
            }
        }
    }
    req.extensions_mut().insert(Arc::new(caller));
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn unauthorized(detail: &str) -> Response {
    let mut r = problem(StatusCode::UNAUTHORIZED, "unauthorized", detail);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"millrace\""),
    );
    r
}

/// The authenticated caller, with one scope checked.
pub struct Authorized<const S: u8>(pub Arc<Caller>);

/// Scope numbers for `Authorized` (const generics take no enums).
pub const ORDERS_READ: u8 = 0;
pub const ORDERS_WRITE: u8 = 1;
pub const SHIPMENTS_READ: u8 = 2;
pub const SHIPMENTS_WRITE: u8 = 3;
pub const EVENTS_READ: u8 = 4;

impl<const S: u8> FromRequestParts<AppState> for Authorized<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        let caller = parts
            .extensions
            .get::<Arc<Caller>>()
            .cloned()
            .ok_or_else(|| unauthorized("Send an API token: `Authorization: Bearer <token>`."))?;
        let scope = Scope::ALL[S as usize];
        if caller.may(scope) {
            Ok(Authorized(caller))
        } else {
            Err(problem(
                StatusCode::FORBIDDEN,
                "scope_missing",
                &format!(
                    "This token may not do that: it needs the scope `{}`.",
                    scope.code()
                ),
            ))
        }
    }
}

/// The request's `Idempotency-Key` (the middleware made sure a POST has one).
pub struct IdempotencyKey(pub String);

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(|k| IdempotencyKey(k.trim().to_string()))
            .ok_or_else(|| {
                problem(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_missing",
                    "Every POST needs an `Idempotency-Key` header.",
                )
            })
    }
}

/// A JSON body read with the JSON path of the first problem in it.
pub struct Payload<T>(pub T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for Payload<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "The body is too large.",
                )
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(Payload)
            .map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." {
                    "$".to_string()
                } else {
                    format!("$.{path}")
                };
                invalid_at(&path, &e.into_inner().to_string())
            })
    }
}

/// Marks a response as deprecated, with its sunset date (RFC 9745 / RFC 8594), for the
/// operations a later version replaces. None are deprecated in version 1 yet.
pub fn deprecated(mut r: Response, since: &str, sunset: &str) -> Response {
    if let (Ok(d), Ok(s)) = (HeaderValue::from_str(since), HeaderValue::from_str(sunset)) {
        r.headers_mut().insert("deprecation", d);
        r.headers_mut().insert("sunset", s);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_numbers_name_their_scopes() {
        let named = [
            (ORDERS_READ, Scope::OrdersRead),
            (ORDERS_WRITE, Scope::OrdersWrite),
            (SHIPMENTS_READ, Scope::ShipmentsRead),
            (SHIPMENTS_WRITE, Scope::ShipmentsWrite),
            (EVENTS_READ, Scope::EventsRead),
            (planning::PLANNING_WRITE, Scope::PlanningWrite),
            (planning_supply::PLANNING_READ, Scope::PlanningRead),
            (exceptions::EXCEPTIONS_READ, Scope::ExceptionsRead),
        ];
        for (number, scope) in named {
            assert_eq!(Scope::ALL[number as usize], scope);
        }
    }

    #[test]
    fn the_router_and_the_openapi_document_name_the_same_operations() {
        let doc = ApiDoc::openapi();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ] {
                if op.is_some() {
                    documented.push((method.to_string(), path.clone()));
                }
            }
        }
        let mut routed: Vec<(String, String)> = routes()
            .into_iter()
            .map(|(m, p, _)| (m.to_string(), p.to_string()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(routed, documented);
        let json = serde_json::to_value(&doc).unwrap();
        assert!(
            json["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            json["openapi"]
        );
    }
}

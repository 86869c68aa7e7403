//! Errors for the caller: [`Problem`], the one mapping from a use case's typed error to an
//! HTTP status, a stable `code`, a sentence for a person and, for invalid input, the field at
//! fault. Plain handlers answer it as RFC 9457 `application/problem+json`; server functions
//! as `api::AppError` with the same status and sentence (`api::context::problem`). And
//! the middleware that answers a server function's unreadable arguments (missing, of the
//! wrong type) with `400 invalid_argument` naming the argument, where the server function
//! machinery would answer 500. Errors of the functions themselves pass through unchanged.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::prelude::ServerFnErrorErr;
use serde_json::{json, Value};

/// Where server functions are served.
const SERVER_FN_PREFIX: &str = "/api/";
/// The header `server_fn` puts on a server function's error answer.
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";
/// Arguments read to name the one that failed: a server function's form is small.
const MAX_ARGUMENT_BYTES: usize = 1 << 20;
/// An error answer of a server function is a short JSON text.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// What the caller is told when a request fails.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable, for programs: `not_found`, `invalid`, `answer_date_in_past`, ...
    pub code: &'static str,
    /// For a person, as the page shows it.
    pub detail: String,
    /// The input field at fault (`proposed_date`), where one is.
    pub field: Option<String>,
    /// For a 500: the reference logged with the cause.
    pub reference: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            reference: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// Input that breaks a rule, or an action the state does not allow (422).
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn at_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Our bug or an outage: the cause is logged with a reference the user can quote, and
    /// only the reference is shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        tracing::error!(error = %cause, reference, "request failed");
        Self {
            detail: format!("Something went wrong on our side; nothing was saved. Try again in a moment (reference {reference})."),
            reference: Some(reference),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "")
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut extra = serde_json::Map::new();
        if let Some(field) = self.field {
            extra.insert("field".into(), Value::String(field));
        }
        if let Some(reference) = self.reference {
            extra.insert("reference".into(), Value::String(reference));
        }
        response(self.status, self.code, &self.detail, Value::Object(extra))
    }
}

/// An error message as a sentence: capital first letter, final stop.
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if s.ends_with('.') => format!("{}{}", f.to_uppercase(), c.as_str()),
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// `status` with a problem body: `code` is stable, `detail` is for a person; `extra`
/// members are added beside them.
pub fn response(status: StatusCode, code: &str, detail: &str, extra: Value) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// Middleware in front of the server functions (see the module documentation).
pub async fn server_fn_arguments(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or_default().to_string();
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // The form stays readable here, to name the argument that failed.
    let (req, form) = if is_form {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_ARGUMENT_BYTES).await else {
            return response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request is too large.",
                Value::Null,
            );
        };
        let form = String::from_utf8_lossy(&bytes).into_owned();
        (Request::from_parts(parts, Body::from(bytes)), form)
    } else {
        (req, String::new())
    };
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error answer too long").into_response();
    };
    // The error as `api::AppError` serializes it; only its `ServerFn` variant is read here.
    #[derive(serde::Deserialize)]
    enum ServerFnAnswer {
        ServerFn(ServerFnErrorErr),
    }
    let reason = match serde_json::from_slice::<ServerFnAnswer>(&bytes) {
        Ok(ServerFnAnswer::ServerFn(
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m),
        )) => m,
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    let given: Vec<(String, String)> = [query.as_str(), form.as_str()]
        .iter()
        .flat_map(|s| serde_urlencoded::from_str::<Vec<(String, String)>>(s).unwrap_or_default())
        .filter(|(k, _)| k != crate::server::auth::csrf::CSRF_FIELD)
        .collect();
    let problem = ArgumentProblem::explain(&reason, &given);
    tracing::info!(path = %parts.headers.get(SERVER_FN_ERROR_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default(), argument = ?problem.argument, reason, "server function called with unreadable arguments");
    response(
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        &problem.detail,
        json!({ "argument": problem.argument }),
    )
}

/// Which argument could not be read, and a sentence saying so.
#[derive(Debug, PartialEq)]
struct ArgumentProblem {
    /// The argument's name, where it can be told (`filter[q]` style for nested ones).
    argument: Option<String>,
    detail: String,
}

impl ArgumentProblem {
    /// `reason` is the decoder's message, `given` the arguments sent. A missing argument is
    /// named by the decoder; a value of the wrong type is not, so it is found among `given`
    /// by what the message says was expected.
    fn explain(reason: &str, given: &[(String, String)]) -> Self {
        if let Some(name) = between(reason, "missing field `", "`") {
            return Self {
                detail: format!("The argument `{name}` is missing."),
                argument: Some(name.to_string()),
            };
        }
        let unreadable: Vec<&str> = given
            .iter()
            .filter(|(_, value)| !fits(reason, value))
            .map(|(name, _)| name.as_str())
            .collect();
        match unreadable.as_slice() {
            [name] => Self {
                detail: format!("The argument `{name}` is not valid: {reason}."),
                argument: Some(name.to_string()),
            },
            [] => Self {
                detail: format!("The arguments could not be read: {reason}."),
                argument: None,
            },
            names => Self {
                detail: format!(
                    "One of the arguments {} is not valid: {reason}.",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                argument: None,
            },
        }
    }
}

/// Whether `value` is of the kind the decoder's `reason` says it expected; `false` where the
/// message does not tell (any value may be the one).
fn fits(reason: &str, value: &str) -> bool {
    const INTEGER: [&str; 4] = [
        "invalid digit found in string",
        "cannot parse integer from empty string",
        "number too large to fit in target type",
        "number too small to fit in target type",
    ];
    if INTEGER.iter().any(|m| reason.contains(m)) {
        // A number out of range parses as i64 and may still be too large for the argument.
        return if reason.contains("too ") {
            value.parse::<i32>().is_ok()
        } else {
            value.parse::<i64>().is_ok()
        };
    }
    if reason.contains("float") {
        return value.parse::<f64>().is_ok();
    }
    if reason.contains("provided string was not `true` or `false`") {
        return value.parse::<bool>().is_ok();
    }
    if let Some(variant) = between(reason, "unknown variant `", "`") {
        return value != variant;
    }
    false
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(reason: &str, given: &[(&str, &str)], argument: Option<&str>, detail: &str) {
        let given: Vec<(String, String)> = given
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = ArgumentProblem::explain(reason, &given);
        assert_eq!(p.argument.as_deref(), argument, "{reason}");
        assert_eq!(p.detail, detail);
    }

    #[test]
    fn the_argument_is_named_where_it_can_be_told() {
        check(
            "missing field `id`",
            &[],
            Some("id"),
            "The argument `id` is missing.",
        );
        check(
            "invalid digit found in string",
            &[("id", "abc")],
            Some("id"),
            "The argument `id` is not valid: invalid digit found in string.",
        );
        check(
            "invalid digit found in string",
            &[("order_id", "12"), ("line_id", "x")],
            Some("line_id"),
            "The argument `line_id` is not valid: invalid digit found in string.",
        );
        // Which of the values that are not numbers was meant as one cannot be told.
        check(
            "invalid digit found in string",
            &[("order_id", "12"), ("line_id", "x"), ("answer", "accept")],
            None,
            "One of the arguments `line_id`, `answer` is not valid: invalid digit found in string.",
        );
        check(
            "provided string was not `true` or `false`",
            &[("notify", "true"), ("active", "1")],
            Some("active"),
            "The argument `active` is not valid: provided string was not `true` or `false`.",
        );
        check(
            "unknown variant `maybe`, expected `yes` or `no`",
            &[("a", "yes"), ("b", "maybe")],
            Some("b"),
            "The argument `b` is not valid: unknown variant `maybe`, expected `yes` or `no`.",
        );
        check(
            "invalid digit found in string",
            &[("a", "x"), ("b", "y")],
            None,
            "One of the arguments `a`, `b` is not valid: invalid digit found in string.",
        );
        check(
            "something else",
            &[],
            None,
            "The arguments could not be read: something else.",
        );
    }
}

//! Server functions grouped by area. Each one authenticates, authorises by role and supplier
//! scope, validates, calls a service in `server/`, and maps errors to messages a person can
//! act on. The browser reaches the server only through these.
//!
//! Reads use GET (`input = GetUrl`). Every state-changing function takes `csrf_token` as its
//! first argument: the request guard checks it before the function runs, and declaring it
//! is what makes a hydrated `ActionForm` send it.

pub mod admin;
pub mod auth;
pub mod connection;
pub mod exceptions;
pub mod order_document;
pub mod orders;
pub mod performance;
pub mod planning;
pub mod planning_items;
pub mod planning_push;
pub mod planning_trace;
pub mod shipments;
pub mod sync;
pub mod tokens;
pub mod webhooks;

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{Deserialize, Serialize};

/// What a server function tells the user when it cannot do what was asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Your session has ended: please sign in again.")]
    Unauthenticated,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on our side; nothing was saved. Try again in a moment (reference {0}).")]
    Internal(String),
    #[error("The request could not be completed: {0}")]
    ServerFn(ServerFnErrorErr),
}

impl FromServerFnError for AppError {
    type Encoder = AppErrorEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value)
    }
}

/// [`AppError`] as JSON; the browser also reads the server's `application/problem+json`
/// answers (a refused CSRF token, an argument that could not be read) as the sentence they
/// carry, so a form shows it.
pub struct AppErrorEncoding;

impl ContentType for AppErrorEncoding {
    const CONTENT_TYPE: &'static str = JsonEncoding::CONTENT_TYPE;
}

impl FormatType for AppErrorEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl Encodes<AppError> for AppErrorEncoding {
    type Error = serde_json::Error;
    fn encode(error: &AppError) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(error).map(Bytes::from)
    }
}

impl Decodes<AppError> for AppErrorEncoding {
    type Error = serde_json::Error;
    fn decode(bytes: Bytes) -> Result<AppError, Self::Error> {
        #[derive(Deserialize)]
        struct Problem {
            detail: String,
        }
        serde_json::from_slice::<AppError>(&bytes).or_else(|e| {
            serde_json::from_slice::<Problem>(&bytes)
                .map(|p| AppError::Invalid(p.detail))
                .map_err(|_| e)
        })
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod context {
    //! What every server function needs from the request: state, user, address, with the
    //! HTTP status set to match the error.

    use super::AppError;
    use crate::server::auth::csrf::ClientIp;
    use crate::server::auth::CurrentUser;
    use crate::server::problem::Problem;
    use crate::server::AppState;
    use leptos::prelude::*;

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| AppError::Internal("no-state".into()))
    }

    fn status(code: http::StatusCode) {
        if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
            r.set_status(code);
        }
    }

    /// `f` of the request's head, borrowed: `use_context` would copy every header and
    /// extension of it for each question asked.
    pub fn with_parts<R>(f: impl FnOnce(&http::request::Parts) -> R) -> Option<R> {
        with_context::<http::request::Parts, _>(f)
    }

    pub fn client_ip() -> String {
        with_parts(|p| p.extensions.get::<ClientIp>().map(|c| c.0.clone()))
            .flatten()
            .unwrap_or_else(|| "unknown".into())
    }

    /// The signed-in user, or 401.
    pub fn user() -> Result<CurrentUser, AppError> {
        match with_parts(|p| p.extensions.get::<CurrentUser>().cloned()).flatten() {
            Some(u) => Ok(u),
            None => {
                status(http::StatusCode::UNAUTHORIZED);
                Err(AppError::Unauthenticated)
            }
        }
    }

    /// A buyer or admin, or 403.
    pub fn internal_user() -> Result<CurrentUser, AppError> {
        let u = user()?;
        if u.is_internal() {
            Ok(u)
        } else {
            status(http::StatusCode::FORBIDDEN);
            Err(AppError::Forbidden)
        }
    }

    /// A planner or admin (the planning pages), or 403.
    pub fn planner_user() -> Result<CurrentUser, AppError> {
        let u = user()?;
        if u.plans() {
            Ok(u)
        } else {
            Err(forbidden())
        }
    }

    /// An admin, or 403.
    pub fn admin_user() -> Result<CurrentUser, AppError> {
        let u = user()?;
        if u.role == crate::server::auth::session::Role::Admin {
            Ok(u)
        } else {
            Err(forbidden())
        }
    }

    pub fn forbidden() -> AppError {
        problem(Problem::forbidden(AppError::Forbidden.to_string()))
    }

    pub fn not_found(what: &str) -> AppError {
        problem(Problem::not_found(what))
    }

    pub fn invalid(message: impl Into<String>) -> AppError {
        problem(Problem::invalid("invalid", message))
    }

    /// Logs the cause with a reference the user can quote; shows only the reference.
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        problem(Problem::internal(e))
    }

    /// A service's refusal (`missing`: what "not found" means here).
    pub fn action(e: crate::server::orders::ActionError, missing: &str) -> AppError {
        problem(e.into_problem(missing))
    }

    /// The one mapping's answer as a server function gives it: the status on the response,
    /// the sentence in the error.
    pub fn problem(p: Problem) -> AppError {
        status(p.status);
        match p.status {
            http::StatusCode::UNAUTHORIZED => AppError::Unauthenticated,
            http::StatusCode::FORBIDDEN => AppError::Forbidden,
            http::StatusCode::NOT_FOUND => AppError::NotFound(p.detail),
            s if s.is_server_error() => AppError::Internal(p.reference.unwrap_or_default()),
            _ => AppError::Invalid(p.detail),
        }
    }
}

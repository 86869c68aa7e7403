//! Odoo errors, classified from the body (JSON-RPC answers HTTP 200 with `error.data.name`;
//! JSON-2 uses status codes plus a JSON body) into permanent and transient.

use std::time::Duration;

/// What the sync does with a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Try again later (timeouts, resets, 5xx, 429, serialization failures, busy database).
    Transient,
    /// Retrying cannot help (access, missing record, validation, bad arguments): dead-letter.
    Permanent,
}

/// The kind of an error Odoo raised, from its Python exception name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerErrorKind {
    AccessDenied,
    Access,
    Missing,
    Validation,
    User,
    BadArguments,
    UnknownDatabase,
    SerializationFailure,
    DatabaseBusy,
    Other,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum OdooError {
    #[error("cannot reach odoo: {detail}")]
    Unreachable { detail: String },
    #[error("odoo did not answer in time")]
    Timeout,
    #[error("odoo answered http {status}: {body}")]
    Http { status: u16, body: String },
    #[error("odoo asks us to slow down")]
    RateLimited { retry_after: Option<Duration> },
    #[error("odoo {name}: {message}")]
    Server {
        kind: ServerErrorKind,
        name: String,
        message: String,
    },
    #[error("unexpected answer from odoo: {0}")]
    Protocol(String),
}

impl OdooError {
    pub fn retry(&self) -> Retry {
        match self {
            OdooError::Unreachable { .. } | OdooError::Timeout | OdooError::RateLimited { .. } => {
                Retry::Transient
            }
            OdooError::Http { status, .. } if *status >= 500 || *status == 408 => Retry::Transient,
            OdooError::Http { .. } | OdooError::Protocol(_) => Retry::Permanent,
            OdooError::Server { kind, .. } => match kind {
                ServerErrorKind::SerializationFailure | ServerErrorKind::DatabaseBusy => {
                    Retry::Transient
                }
                _ => Retry::Permanent,
            },
        }
    }

    pub fn kind(&self) -> Option<ServerErrorKind> {
        match self {
            OdooError::Server { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Builds the error from an exception name and message as both transports carry them.
    pub fn from_exception(name: &str, message: &str) -> Self {
        OdooError::Server {
            kind: classify(name, message),
            name: name.to_string(),
            message: message.to_string(),
        }
    }

    /// From a reqwest failure: connection and timeout problems are transient.
    pub fn from_transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            OdooError::Timeout
        } else if e.is_decode() {
            OdooError::Protocol(e.to_string())
        } else {
            // Connection refused/reset, DNS and the like. The URL carries no secret (keys go in
            // the body or a header), but keep only the cause chain to stay short.
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                detail = format!("{detail}: {s}");
                source = s.source();
            }
            OdooError::Unreachable { detail }
        }
    }
}

/// Classifies an exception by its Python name (and, for database errors, its message).
pub fn classify(name: &str, message: &str) -> ServerErrorKind {
    let short = name.rsplit('.').next().unwrap_or(name);
    match short {
        "AccessDenied" | "Unauthorized" => ServerErrorKind::AccessDenied,
        "AccessError" | "Forbidden" => ServerErrorKind::Access,
        "MissingError" | "NotFound" => ServerErrorKind::Missing,
        "ValidationError" | "UnprocessableEntity" => ServerErrorKind::Validation,
        "UserError" | "RedirectWarning" => ServerErrorKind::User,
        "ValueError" | "TypeError" | "KeyError" | "AttributeError" | "NameError" | "BadRequest" => {
            ServerErrorKind::BadArguments
        }
        "SerializationFailure" | "TransactionRollbackError" | "LockNotAvailable" => {
            ServerErrorKind::SerializationFailure
        }
        "OperationalError" if message.contains("does not exist") => {
            ServerErrorKind::UnknownDatabase
        }
        "OperationalError" | "InterfaceError" => ServerErrorKind::DatabaseBusy,
        _ if message.contains("could not serialize access") => {
            ServerErrorKind::SerializationFailure
        }
        _ => ServerErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, message: &str, kind: ServerErrorKind, retry: Retry) {
        let e = OdooError::from_exception(name, message);
        assert_eq!(e.kind(), Some(kind), "{name}");
        assert_eq!(e.retry(), retry, "{name}");
    }

    #[test]
    fn exceptions_seen_in_the_recordings_are_classified() {
        use ServerErrorKind::*;
        check(
            "odoo.exceptions.AccessDenied",
            "Access Denied",
            AccessDenied,
            Retry::Permanent,
        );
        check(
            "odoo.exceptions.AccessError",
            "You are not allowed",
            Access,
            Retry::Permanent,
        );
        check(
            "odoo.exceptions.MissingError",
            "Record does not exist",
            Missing,
            Retry::Permanent,
        );
        check(
            "odoo.exceptions.ValidationError",
            "min > max",
            Validation,
            Retry::Permanent,
        );
        check(
            "odoo.exceptions.UserError",
            "cancel it first",
            User,
            Retry::Permanent,
        );
        check(
            "builtins.ValueError",
            "time data",
            BadArguments,
            Retry::Permanent,
        );
        check(
            "builtins.TypeError",
            "unexpected keyword",
            BadArguments,
            Retry::Permanent,
        );
        check(
            "builtins.AttributeError",
            "does not exist",
            BadArguments,
            Retry::Permanent,
        );
        check(
            "builtins.KeyError",
            "nosuchservice",
            BadArguments,
            Retry::Permanent,
        );
        check(
            "builtins.NameError",
            "Method not available",
            BadArguments,
            Retry::Permanent,
        );
        check(
            "werkzeug.exceptions.Unauthorized",
            "Invalid apikey",
            AccessDenied,
            Retry::Permanent,
        );
        check(
            "werkzeug.exceptions.NotFound",
            "the model",
            Missing,
            Retry::Permanent,
        );
        check(
            "psycopg2.OperationalError",
            "FATAL:  database \"x\" does not exist",
            UnknownDatabase,
            Retry::Permanent,
        );
        check(
            "psycopg2.OperationalError",
            "server closed the connection unexpectedly",
            DatabaseBusy,
            Retry::Transient,
        );
        check(
            "psycopg2.errors.SerializationFailure",
            "could not serialize access",
            SerializationFailure,
            Retry::Transient,
        );
    }

    #[test]
    fn transport_failures_are_transient() {
        assert_eq!(OdooError::Timeout.retry(), Retry::Transient);
        assert_eq!(
            OdooError::RateLimited { retry_after: None }.retry(),
            Retry::Transient
        );
        assert_eq!(
            OdooError::Http {
                status: 503,
                body: String::new()
            }
            .retry(),
            Retry::Transient
        );
        assert_eq!(
            OdooError::Http {
                status: 502,
                body: String::new()
            }
            .retry(),
            Retry::Transient
        );
        assert_eq!(
            OdooError::Http {
                status: 404,
                body: String::new()
            }
            .retry(),
            Retry::Permanent
        );
        assert_eq!(OdooError::Protocol("x".into()).retry(), Retry::Permanent);
    }
}

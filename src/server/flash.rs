//! What a form's action answered, carried to the page the browser comes back to.
//!
//! Pages hydrate only their islands (`app::Enhance`), so every form is a plain HTML post to
//! its server function. The server function runs, and leptos answers a form post with a
//! redirect back to the page it came from (`Referer`), an error put in that URL
//! (`?__path=…&__err=…`, which `ServerAction::new` reads on the next render). A success has
//! no place in the URL: [`keep`] takes the function's answer from the redirect's body and
//! stores it in the session; [`take`] moves it from the session to the next page view,
//! where `app::answered` shows it like an action's value.
//!
//! *Invariant:* a flash is shown once, by the next page the same session views, and only
//! by the form whose server function answered it (the path is part of it). An answer can
//! hold a secret shown once (a new API token, a webhook's signing secret): it is sealed
//! with the server key (`MILLRACE_SECRET_KEY`) while it waits in the session store.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, Method, StatusCode};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::secrets::Sealed;
use super::AppState;

const FLASH_KEY: &str = "flash";
const SEALING_CONTEXT: &str = "flash";
/// A larger answer is not kept (none of ours comes near it).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// One server function's answer to a form post, for the page after the redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    /// The server function's path (`ServerFn::PATH`).
    pub path: String,
    /// Its answer as the function encodes it (JSON).
    pub body: String,
}

/// As the session stores it: sealed when the server has a key.
#[derive(Serialize, Deserialize)]
enum Stored {
    Sealed {
        path: String,
        #[serde(flatten)]
        sealed: Sealed,
    },
    Plain {
        path: String,
        body: String,
    },
}

fn accepts_html(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Middleware on the server functions' routes: a plain form post always goes back with a
/// redirect (an error's status would otherwise replace it), and its successful answer is
/// kept in the session. A call from an island or a client passes untouched.
pub async fn keep(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let form_post = req.method() == Method::POST && path.starts_with("/api/") && accepts_html(&req);
    let mut res = next.run(req).await;
    if !form_post {
        return res;
    }
    let Some(location) = res
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
    else {
        return res;
    };
    // An error's status (401, 422...) replaces leptos's redirect status on the way out,
    // leaving a Location the browser would not follow: the form post goes back either way.
    if !res.status().is_redirection() {
        *res.status_mut() = StatusCode::SEE_OTHER;
    }
    if location.contains("__err=") {
        return res;
    }
    // Leptos takes an earlier error out of the page's URL and leaves its `?` behind.
    if let Some(bare) = location.strip_suffix('?') {
        if let Ok(v) = http::HeaderValue::from_str(bare) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ANSWER_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(body) = String::from_utf8(bytes.to_vec()) else {
        return Response::from_parts(parts, Body::empty());
    };
    let stored = match &state.settings.sealing {
        Some(keys) => Stored::Sealed {
            path,
            sealed: keys.seal(&body, SEALING_CONTEXT),
        },
        None => Stored::Plain { path, body },
    };
    if let Err(e) = session.insert(FLASH_KEY, stored).await {
        // The action happened; only its confirmation is lost. The page shows the new state.
        tracing::warn!(error = %e, "flash not kept");
    }
    Response::from_parts(parts, Body::empty())
}

/// For a page view: the flash waiting in the session, removed from it. A session without
/// one is not written (every page view asks); one that cannot be read is dropped.
pub async fn take(state: &AppState, session: &Session) -> Option<Flash> {
    let stored = session.get::<Stored>(FLASH_KEY).await;
    if matches!(stored, Ok(None)) {
        return None;
    }
    if let Err(e) = session.remove_value(FLASH_KEY).await {
        tracing::warn!(error = %e, "flash not removed from the session");
    }
    match stored.ok()?? {
        Stored::Plain { path, body } => Some(Flash { path, body }),
        Stored::Sealed { path, sealed } => {
            let keys = state.settings.sealing.as_ref()?;
            let body = keys.open(&sealed, SEALING_CONTEXT).ok()?;
            Some(Flash {
                path,
                body: body.expose().to_string(),
            })
        }
    }
}

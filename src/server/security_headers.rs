//! The headers every response carries so a browser limits what a page may do: a Content
//! Security Policy with a fresh script nonce per response (shared with the scripts Leptos
//! writes into the page), no framing (clickjacking), no MIME sniffing, no referrer to other
//! sites, and HSTS behind TLS. Not an authorization layer: that is `auth::csrf::guard`.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use base64::Engine as _;
use rand::RngCore as _;
use tower_http::set_header::SetResponseHeaderLayer;

/// This response's script nonce, in the request's extensions for the page renderer.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

impl CspNonce {
    /// 128 random bits, URL-safe base64 (a valid CSP nonce).
    fn new() -> Self {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// The policy for a response whose scripts carry `nonce`.
///
/// - scripts: the bundle from this origin, inline scripts only with the nonce (Leptos's
///   hydration and resource scripts carry it), and `'wasm-unsafe-eval'` to compile the
///   WebAssembly; no `'unsafe-inline'`, so no inline event handlers.
/// - styles: the stylesheet only. No page sets a `style` attribute (the SVG charts use
///   classes), so inline styles are refused too.
/// - `connect-src 'self'`, plus `ws:` while `cargo leptos watch` serves (its reload socket).
fn policy(nonce: &str) -> String {
    let reload = if crate::app::watching() { " ws:" } else { "" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; connect-src 'self'{reload}; object-src 'none'; \
         base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// Middleware: a nonce for the request, the policy naming it on the response.
async fn content_security_policy(mut req: Request, next: Next) -> Response {
    let nonce = CspNonce::new();
    let value = HeaderValue::from_str(&policy(&nonce.0))
        .expect("the policy is ASCII: fixed text and a base64 nonce");
    req.extensions_mut().insert(nonce);
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, value);
    res
}

/// Makes the inline scripts Leptos writes into a page carry this request's nonce (called in
/// the context of every page render; Leptos's own per-render nonce is replaced).
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, with_context};
    if let Some(nonce) =
        with_context::<http::request::Parts, _>(|p| p.extensions.get::<CspNonce>().cloned())
            .flatten()
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// `router` with the headers on every response: the policy above, `nosniff`,
/// `X-Frame-Options: DENY` (for browsers without `frame-ancestors`), `Referrer-Policy:
/// same-origin`, and HSTS for a year when the portal is served over TLS (`secure` is
/// `MILLRACE_SECURE_COOKIES`).
pub fn on_every_response<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    secure: bool,
) -> Router<S> {
    let set = |name, value: Option<&'static str>| {
        SetResponseHeaderLayer::overriding(name, value.map(HeaderValue::from_static))
    };
    router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, Some("nosniff")))
        .layer(set(header::X_FRAME_OPTIONS, Some("DENY")))
        .layer(set(header::REFERRER_POLICY, Some("same-origin")))
        .layer(set(
            header::STRICT_TRANSPORT_SECURITY,
            secure.then_some("max-age=31536000"),
        ))
        .layer(axum::middleware::from_fn(content_security_policy))
}

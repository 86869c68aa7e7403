//! How the site reaches the browser: every response compressed as the browser accepts it
//! (br, gzip), and said so to caches (`Vary: Accept-Encoding`).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;

/// A response sent encoded (a precompressed copy, chosen by `Accept-Encoding`, e.g. from
/// public/) says so to caches; the compression layer does the same for what it compresses.
async fn vary_on_encoding(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.headers().contains_key(header::CONTENT_ENCODING) {
        vary_on_accept_encoding(&mut res);
    }
    res
}

fn vary_on_accept_encoding(res: &mut Response) {
    let varies = res.headers().get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    });
    if !varies {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// `router` with every response compressed as the request accepts (br preferred, then gzip;
/// tower-http's defaults: brotli quality 4, nothing under 32 bytes, no images, no event
/// streams), except PDFs (compressed inside already). Streamed pages stay streamed: the
/// encoder flushes whenever the page's stream waits.
pub fn compressed<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let predicate = DefaultPredicate::new().and(NotForContentType::const_new("application/pdf"));
    router
        .layer(axum::middleware::from_fn(vary_on_encoding))
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .compress_when(predicate),
        )
}

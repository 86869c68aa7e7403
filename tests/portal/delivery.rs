//! What reaches the browser, byte for byte: pages and server function answers compressed
//! when the request accepts it (br, gzip) and plain when not; the bundle sent from its
//! precompressed copies, a content-hashed name cached for a year, any other file revalidated.

use std::io::Read;

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, IF_MODIFIED_SINCE, LAST_MODIFIED, VARY,
};
use reqwest::Response;

use super::common::Browser;
use super::{signed_in, spawn_app, spawn_app_serving};

const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");

/// The body as sent, decoded per its `Content-Encoding` (none: as it is).
async fn decoded(r: Response) -> String {
    let encoding = header(&r, CONTENT_ENCODING);
    let raw = r.bytes().await.unwrap();
    let mut text = String::new();
    match encoding.as_str() {
        "" => text = String::from_utf8(raw.to_vec()).unwrap(),
        "br" => {
            brotli::Decompressor::new(&raw[..], 4096)
                .read_to_string(&mut text)
                .expect("a brotli stream");
        }
        "gzip" => {
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .expect("a gzip stream");
        }
        other => panic!("unexpected Content-Encoding {other}"),
    }
    text
}

fn header(r: &Response, name: reqwest::header::HeaderName) -> String {
    r.headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn fetch(b: &Browser, path: &str, accept: &str, encoding: Option<&str>) -> Response {
    let mut req = b
        .http
        .get(format!("{}{}", b.base, path))
        .header("Accept", accept);
    if let Some(encoding) = encoding {
        req = req.header(ACCEPT_ENCODING, encoding);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_server_function_answers_come_compressed_when_asked_and_plain_when_not() {
    let app = spawn_app().await;
    let ana = signed_in(&app, ANA.0, ANA.1).await;
    let page = "/orders";
    let list = "/api/orders/list?filter[q]=&filter[status]=&filter[due_before]=&filter[page]=1";
    let plain_json = decoded(fetch(&ana, list, "application/json", None).await).await;
    assert!(
        plain_json.contains("\"total\""),
        "the orders list: {plain_json}"
    );

    for (path, accept) in [(page, "text/html"), (list, "application/json")] {
        // A browser's header: brotli preferred where accepted, gzip otherwise.
        for (sent, expected) in [
            ("gzip, deflate, br, zstd", "br"),
            ("gzip", "gzip"),
            ("br;q=0.5, gzip;q=1.0", "gzip"),
        ] {
            let r = fetch(&ana, path, accept, Some(sent)).await;
            assert_eq!(r.status(), 200, "{path} with {sent}");
            assert_eq!(header(&r, CONTENT_ENCODING), expected, "{path} with {sent}");
            assert!(
                header(&r, VARY).contains("accept-encoding"),
                "{path}: Vary: {}",
                header(&r, VARY)
            );
            let body = decoded(r).await;
            if path == page {
                assert!(body.starts_with("<!DOCTYPE html>"), "{path}: {body:.200}");
                // Whole: the stream decoded to its end (a cut one fails to decode).
                assert!(body.contains("</html>"), "{path} whole");
                assert!(body.contains("P0"), "{path} lists the orders");
            } else {
                assert_eq!(body, plain_json, "{path} decodes to the plain answer");
            }
        }
        for sent in [None, Some("identity")] {
            let r = fetch(&ana, path, accept, sent).await;
            assert_eq!(r.status(), 200, "{path} with {sent:?}");
            assert_eq!(
                header(&r, CONTENT_ENCODING),
                "",
                "{path} plain with {sent:?}"
            );
            let body = r.text().await.unwrap();
            assert!(
                body.starts_with("<!DOCTYPE html>") || body == plain_json,
                "{path} plain: {body:.200}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_comes_precompressed_and_cached_by_its_hashed_name() {
    // A site as scripts/build.sh leaves it: hashed names in hash.txt, .br and .gz copies
    // (marked, so the test sees which file was sent), and one file without a hash.
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        site.path().join("hash.txt"),
        "js: 0123abcd\nwasm: 4567ef01\ncss: 89abcdef\n",
    )
    .unwrap();
    for (name, content) in [
        ("millrace.0123abcd.js", "export default function(){}"),
        ("millrace.0123abcd.js.br", "BROTLI COPY"),
        ("millrace.0123abcd.js.gz", "GZIP COPY"),
        ("millrace.4567ef01.wasm", "\0asm"),
        ("millrace.89abcdef.css", "body{}"),
        ("unhashed.txt", "revalidated"),
    ] {
        std::fs::write(pkg.join(name), content).unwrap();
    }
    let app = spawn_app_serving(|_| {}, Some(site.path())).await;
    let b = Browser::open(&app.url).await;

    let r = fetch(&b, "/login", "text/html", Some("br, gzip")).await;
    assert!(
        !header(&r, CACHE_CONTROL).contains("immutable"),
        "a page is never immutable"
    );
    let html = decoded(r).await;
    for name in [
        "/pkg/millrace.0123abcd.js",
        "/pkg/millrace.4567ef01.wasm",
        "/pkg/millrace.89abcdef.css",
    ] {
        assert!(html.contains(name), "the page names {name}");
    }

    let js = "/pkg/millrace.0123abcd.js";
    for (sent, encoding, body) in [
        (Some("gzip, deflate, br"), "br", "BROTLI COPY"),
        (Some("gzip"), "gzip", "GZIP COPY"),
        (None, "", "export default function(){}"),
    ] {
        let r = fetch(&b, js, "*/*", sent).await;
        assert_eq!(r.status(), 200, "{js} with {sent:?}");
        assert_eq!(header(&r, CONTENT_ENCODING), encoding, "{js} with {sent:?}");
        assert_eq!(
            header(&r, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{js} with {sent:?}"
        );
        assert!(
            header(&r, VARY).contains("accept-encoding"),
            "{js} with {sent:?}: Vary: {}",
            header(&r, VARY)
        );
        assert!(
            header(&r, "x-content-type-options".try_into().unwrap()) == "nosniff",
            "the security headers on the bundle too"
        );
        assert_eq!(r.text().await.unwrap(), body, "{js} with {sent:?}");
    }
    for name in ["millrace.4567ef01.wasm", "millrace.89abcdef.css"] {
        let r = fetch(&b, &format!("/pkg/{name}"), "*/*", None).await;
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(
            header(&r, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{name}"
        );
    }

    // A name without a hash may change content: kept, but revalidated.
    let r = fetch(&b, "/pkg/unhashed.txt", "*/*", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CACHE_CONTROL), "no-cache");
    let modified = header(&r, LAST_MODIFIED);
    assert!(!modified.is_empty(), "Last-Modified to revalidate with");
    let r = b
        .http
        .get(format!("{}/pkg/unhashed.txt", app.url))
        .header(IF_MODIFIED_SINCE, r.headers()[LAST_MODIFIED].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304, "revalidated, not sent again");

    let r = fetch(&b, "/pkg/missing.js", "*/*", None).await;
    assert_eq!(r.status(), 404);
    assert!(!header(&r, CACHE_CONTROL).contains("immutable"));
}

/// The exceptions CSV is streamed (`exceptions::csv`); compressed, its body is polled once
/// more after its end, which a stream that is not fused answers with a panic and a reset
/// connection (found in Chromium, which always asks for br).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamed_exceptions_csv_comes_whole_compressed_or_plain() {
    let app = spawn_app().await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let path = "/buyer/exceptions.csv?supplier=&buyer=";
    let plain = decoded(fetch(&buyer, path, "*/*", None).await).await;
    assert!(
        plain.starts_with("category,order,supplier,detail,since\r\n"),
        "{plain}"
    );
    for encoding in ["br", "gzip"] {
        let r = fetch(&buyer, path, "*/*", Some(encoding)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, CONTENT_ENCODING), encoding);
        assert_eq!(decoded(r).await, plain, "{encoding}");
    }
}

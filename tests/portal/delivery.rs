//! What reaches the browser, byte for byte: pages and server function answers compressed
//! when the request accepts it (br, gzip) and plain when not.

use std::io::Read;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, VARY};
use reqwest::Response;

use super::common::Browser;
use super::{signed_in, spawn_app};

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

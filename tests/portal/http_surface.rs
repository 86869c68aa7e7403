//! The HTTP surface as any caller meets it: where a sign-in may send the browser, the
//! security headers on every kind of response, and a caller's mistakes answered 4xx.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::Method;
use serde_json::Value;

use super::common::Browser;
use super::{signed_in, spawn_app, spawn_app_with, TestApp};

const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");
const BUYER: (&str, &str) = ("buyer@millrace.example", "buyer-demo-pass");
const ADMIN: (&str, &str) = ("admin@millrace.example", "admin-demo-pass");

/// Signs in with `next` as the login form sends it; the answer's `Location`.
async fn sign_in_with_next(app: &TestApp, next: &str, accept: &str) -> String {
    let b = Browser::open(&app.url).await;
    let r = b
        .http
        .post(format!("{}/api/login", app.url))
        .header("Accept", accept)
        .form(&[
            ("csrf_token", b.csrf.as_str()),
            ("email", ANA.0),
            ("password", ANA.1),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().as_u16() < 400, "next = {next:?}: {}", r.status());
    r.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("next = {next:?}: no Location"))
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sign_in_the_browser_goes_only_to_a_page_of_this_site() {
    let app = spawn_app().await;
    let site = url::Url::parse(&app.url).unwrap();

    // Sent to sign in from a page, the user comes back to it.
    let anonymous = Browser::open(&app.url).await;
    let r = anonymous
        .http
        .get(format!("{}/orders/12?tab=lines", app.url))
        .send()
        .await
        .unwrap();
    let login = site.join(r.headers()[LOCATION].to_str().unwrap()).unwrap();
    let next: String = login
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(next, "/orders/12?tab=lines");
    assert_eq!(
        sign_in_with_next(&app, &next, "application/json").await,
        "/orders/12?tab=lines"
    );

    // The known ways out of the site: each lands on the orders, as the browser reads it.
    for next in [
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "//evil.example/",
        "/.//evil.example/",
        "https://evil.example/",
        "https:evil.example",
        "javascript:alert(document.domain)",
        "//user@evil.example/",
        &format!("{}@evil.example/", app.url),
    ] {
        for accept in ["application/json", "text/html"] {
            let location = sign_in_with_next(&app, next, accept).await;
            let target = site.join(&location).unwrap();
            assert_eq!(
                target.origin(),
                site.origin(),
                "next = {next:?} → {location}"
            );
            assert_eq!(location, "/orders", "next = {next:?}");
        }
    }
    // Encoded forms stay paths of this site, written as the browser will read them.
    assert_eq!(
        sign_in_with_next(&app, "/%2F/evil.example/", "application/json").await,
        "/%2F/evil.example/"
    );
    assert_eq!(
        sign_in_with_next(&app, "/%5Cevil.example/", "text/html").await,
        "/%5Cevil.example/"
    );
}

/// The headers every response must carry; the nonce of its policy.
fn assert_security_headers(what: &str, h: &HeaderMap) -> String {
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "style-src 'self'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing in {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap_or_else(|| panic!("{what}: no nonce in {csp}"));
    assert!(nonce.len() >= 22, "{what}: a short nonce {nonce}");
    nonce.to_string()
}

/// Every inline script of a page carries the response's nonce.
fn assert_scripts_carry(what: &str, html: &str, nonce: &str) {
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{what}: no script in the page");
    for s in scripts {
        let tag = &s[..s.find('>').unwrap()];
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "{what}: a script without the response's nonce: <script{tag}>"
        );
    }
    // The page itself sets no style attribute and no inline handler the policy would block.
    assert!(!html.contains(" style="), "{what}: an inline style");
    assert!(!html.contains(" onclick="), "{what}: an inline handler");
}

/// A page as the browser loads it: its status, its headers, its scripts with the nonce.
async fn check_page(b: &Browser, what: &str, path: &str, status: u16) -> String {
    let r = b
        .http
        .get(format!("{}{path}", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), status, "{what}");
    let nonce = assert_security_headers(what, r.headers());
    assert_scripts_carry(what, &r.text().await.unwrap(), &nonce);
    nonce
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    // A static file, as the built site serves the bundle.
    let conf = leptos::prelude::get_configuration(Some("Cargo.toml")).unwrap();
    let site_root = std::path::PathBuf::from(conf.leptos_options.site_root.as_ref());
    std::fs::create_dir_all(site_root.join("pkg")).unwrap();
    std::fs::write(site_root.join("pkg/security-headers-probe.txt"), "probe").unwrap();

    let anonymous = Browser::open(&app.url).await;
    let nonce = check_page(&anonymous, "sign-in page", "/login", 200).await;
    let again = check_page(&anonymous, "sign-in page again", "/login", 200).await;
    assert_ne!(nonce, again, "a nonce is used once");
    let ana = signed_in(&app, ANA.0, ANA.1).await;
    check_page(&ana, "orders page", "/orders", 200).await;
    check_page(&ana, "not found", "/no-such-page", 404).await;

    for (what, path, status) in [
        ("static file", "/pkg/security-headers-probe.txt", Some(200)),
        ("server function", "/api/whoami", Some(200)),
        ("health", "/healthz", Some(200)),
        // Ready or not (the double may still be syncing), with the headers.
        ("readiness", "/readyz", None),
    ] {
        let r = ana.get(path, &[]).await;
        if let Some(status) = status {
            assert_eq!(r.status(), status, "{what}");
        }
        assert_security_headers(what, r.headers());
    }
    let r = anonymous
        .http
        .get(format!("{}/orders", app.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_security_headers("redirect to sign-in", r.headers());
    let r = ana
        .http
        .post(format!("{}/api/orders/acknowledge", app.url))
        .form(&[("order_id", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_security_headers("refused without a token", r.headers());
    assert!(
        r.headers().get("strict-transport-security").is_none(),
        "HSTS only behind TLS"
    );

    // Behind TLS (secure cookies): HSTS too.
    let tls = spawn_app_with(|s| s.secure_cookies = true).await;
    let r = reqwest::get(format!("{}/healthz", tls.url)).await.unwrap();
    assert_security_headers("health behind TLS", r.headers());
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_mistake_answers_400_naming_the_argument() {
    let app = spawn_app().await;
    let ana = signed_in(&app, ANA.0, ANA.1).await;

    let problem = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], 400, "{p}");
        assert_eq!(p["code"], "invalid_argument", "{p}");
        assert_eq!(p["title"], "Bad Request", "{p}");
        assert_eq!(p["type"], "about:blank", "{p}");
        p
    };
    let p = problem(ana.order("abc").await).await;
    assert_eq!(p["argument"], "id", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("`id`"), "{p}");

    let p = problem(ana.get("/api/orders/get", &[]).await).await;
    assert_eq!(p["argument"], "id", "{p}");
    assert_eq!(p["detail"], "The argument `id` is missing.", "{p}");

    let p = problem(ana.post("/api/orders/acknowledge", &[]).await).await;
    assert_eq!(p["argument"], "order_id", "{p}");
    let p = problem(
        ana.post("/api/orders/acknowledge", &[("order_id", "twelve")])
            .await,
    )
    .await;
    assert_eq!(p["argument"], "order_id", "{p}");

    // The pages' own errors keep their status and shape.
    let r = ana.order("999999").await;
    assert_eq!(r.status(), 404);
    let anonymous = Browser::open(&app.url).await;
    assert_eq!(anonymous.order("1").await.status(), 401);
}

/// One caller of every server function: anonymous or signed in as `who`.
struct Caller {
    who: Option<(&'static str, &'static str)>,
    browser: Browser,
}

impl Caller {
    async fn new(app: &TestApp, who: Option<(&'static str, &'static str)>) -> Self {
        let browser = match who {
            Some((email, password)) => signed_in(app, email, password).await,
            None => Browser::open(&app.url).await,
        };
        Self { who, browser }
    }

    async fn call(
        &self,
        path: &str,
        method: &Method,
        args: &BTreeMap<String, String>,
    ) -> reqwest::Response {
        let url = format!("{}{}", self.browser.base, path);
        let mut pairs: Vec<(&str, &str)> =
            args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // An argument no function declares: ignored, never an error of ours.
        pairs.push(("unexpected_extra", "1"));
        let r = if *method == Method::GET {
            self.browser.http.get(url).query(&pairs)
        } else {
            self.browser
                .http
                .request(method.clone(), url)
                .header("x-csrf-token", &self.browser.csrf)
                .form(&pairs)
        };
        r.header("Accept", "application/json").send().await.unwrap()
    }

    /// Signs in again if a call (sign-out, password change) ended the session; anonymous,
    /// takes the new session's token.
    async fn stay_signed_in(&mut self, app: &TestApp) {
        let Some((email, password)) = self.who else {
            self.browser.refresh_csrf().await;
            return;
        };
        let me: Value = self
            .browser
            .get("/api/whoami", &[])
            .await
            .json()
            .await
            .unwrap();
        if me.is_null() {
            self.browser = signed_in(app, email, password).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_function_answers_5xx_to_missing_extra_or_mistyped_arguments() {
    let app = spawn_app().await;
    let mut functions: Vec<(&'static str, Method)> =
        leptos::server_fn::axum::server_fn_paths().collect();
    functions.sort_by_key(|(p, _)| *p);
    assert!(
        functions.len() >= 30 && functions.iter().any(|(p, _)| *p == "/api/orders/get"),
        "the registered server functions: {functions:?}"
    );
    let mut callers = [
        Caller::new(&app, None).await,
        Caller::new(&app, Some(ANA)).await,
        Caller::new(&app, Some(BUYER)).await,
        Caller::new(&app, Some(ADMIN)).await,
    ];
    let mut named = 0;
    for (path, method) in &functions {
        for caller in callers.iter_mut() {
            let who = caller.who.map(|w| w.0).unwrap_or("anonymous");
            // Start with no argument; give each one the decoder names a wrong value first
            // ("x" where a number is wanted), then a right one, until it reads them all.
            let mut args: BTreeMap<String, String> = BTreeMap::new();
            for _ in 0..12 {
                let r = caller.call(path, method, &args).await;
                let status = r.status();
                let body = r.text().await.unwrap();
                assert!(
                    status.as_u16() < 500,
                    "{method} {path} as {who} with {args:?}: {status} {body}"
                );
                if status != 400 {
                    break;
                }
                let Ok(p) = serde_json::from_str::<Value>(&body) else {
                    break;
                };
                if p["code"] != "invalid_argument" {
                    break;
                }
                let Some(argument) = p["argument"].as_str() else {
                    break;
                };
                named += 1;
                let next = match args.get(argument).map(String::as_str) {
                    None if argument == "csrf_token" => caller.browser.csrf.clone(),
                    None => "x".to_string(),
                    Some("x") => "1".to_string(),
                    Some("1") => "true".to_string(),
                    Some(_) => break,
                };
                args.insert(argument.to_string(), next);
            }
            caller.stay_signed_in(&app).await;
        }
    }
    assert!(
        named > functions.len(),
        "arguments were named {named} times"
    );
}

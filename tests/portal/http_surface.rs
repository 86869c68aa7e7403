//! The HTTP surface as any caller meets it: where a sign-in may send the browser.

use reqwest::header::LOCATION;

use super::common::Browser;
use super::{spawn_app, TestApp};

const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");

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

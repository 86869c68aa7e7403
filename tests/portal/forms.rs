//! Forms posted as plain HTML, as every form is before (and without) the island: the
//! server function's answer comes back through a redirect to the page and shows once
//! (`server::flash`); a refusal comes back in the URL, with its own status replaced by a
//! redirect; the answer waits in the session store sealed.

use millrace::server::secrets::SealingKeys;

use super::common::Browser;
use super::{signed_in, spawn_app_with, synced_orders};

/// What a browser sends for a form it posts itself.
async fn form_post(
    b: &Browser,
    path: &str,
    back_to: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = form.to_vec();
    fields.push(("csrf_token", &b.csrf));
    b.http
        .post(format!("{}{path}", b.base))
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .header("Referer", format!("{}{back_to}", b.base))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The text of the element marked `data-testid="<id>"` (its first text node).
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\"");
    let Some(at) = html.find(&marker) else {
        return String::new();
    };
    let rest = &html[at..];
    let start = rest.find('>').map(|i| i + 1).unwrap_or(0);
    let end = rest[start..].find('<').map(|i| start + i).unwrap_or(start);
    rest[start..end].trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_post_comes_back_to_its_page_with_its_answer_once_and_a_refusal_in_the_url() {
    let app = spawn_app_with(|s| {
        s.sealing = Some(SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap());
    })
    .await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page.orders[0].id.to_string();
    let back = format!("/orders/{order}");

    // Refused (an order that is not hers): the 404 becomes a redirect back, the error in
    // the URL, and the page it lands on says it.
    let r = form_post(
        &ana,
        "/api/orders/acknowledge",
        &back,
        &[("order_id", "999999")],
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = location(&r);
    assert!(
        to.contains(&back) && to.contains("__err="),
        "back to the page with the error: {to}"
    );
    let (status, html) = ana.page(to.trim_start_matches(&app.url)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("No such order among yours."),
        "the refusal shows"
    );
    assert_eq!(text_of(&html, "ack-done"), "", "no success shows");

    // Done: back to the page, and the answer shows there once.
    let r = form_post(
        &ana,
        "/api/orders/acknowledge",
        &back,
        &[("order_id", &order)],
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(location(&r), format!("{}{back}", app.url));
    let stored: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM tower_sessions")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let (_, html) = ana.page(&back).await;
    let said = text_of(&html, "ack-done");
    assert!(!said.is_empty(), "the acknowledgment's answer shows");
    assert!(
        !stored
            .iter()
            .any(|(d,)| d.windows(said.len()).any(|w| w == said.as_bytes())),
        "the answer waited in the session store as plain text"
    );
    let (_, again) = ana.page(&back).await;
    assert_eq!(text_of(&again, "ack-done"), "", "shown once");
    assert!(
        again.contains("by Ana Silva"),
        "the page shows the new state"
    );

    // A call that is not a plain form post (an island, a client) is answered as before.
    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &order)])
        .await;
    assert_eq!(r.status(), 200);
}

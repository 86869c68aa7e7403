//! Sessions: made only where a form needs one, and gone once expired.

use std::time::Duration;

use super::common::Browser;
use super::{spawn_app, TestApp};

/// The one value `sql` selects.
async fn scalar<T>(app: &TestApp, sql: &str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::query_as::<_, (T,)>(sql)
        .fetch_one(&app.db)
        .await
        .unwrap()
        .0
}

async fn session_rows(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM tower_sessions").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_and_anonymous_visits_make_no_session_and_expired_ones_are_deleted() {
    let app = spawn_app().await;
    let start = session_rows(&app).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for i in 0..100 {
        let path = ["/healthz", "/metrics", "/readyz", "/orders", "/admin/staff"][i % 5];
        let r = http.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert!(r.status().as_u16() < 500, "{path}: {}", r.status());
        assert!(
            r.headers().get("set-cookie").is_none(),
            "{path} set a cookie: {:?}",
            r.headers().get("set-cookie")
        );
    }
    assert_eq!(
        session_rows(&app).await,
        start,
        "a scraper and anonymous visits made sessions"
    );

    // The sign-in page needs one (its form carries a token): one visitor, one row.
    let mut ana = Browser::open(&app.url).await;
    assert_eq!(session_rows(&app).await, start + 1);
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(r.status().as_u16() < 400);
    assert!(
        ana.orders("").await["orders"].is_array(),
        "signed in as usual"
    );

    // The running portal deletes expired sessions.
    let app = super::spawn_app_with(|s| s.session_cleanup_every = Duration::from_millis(200)).await;
    let insert = match millrace::server::db::backend(&app.db) {
        // As the store writes it: text with an offset.
        millrace::server::db::Backend::Sqlite => "INSERT INTO tower_sessions (id, data, expiry_date) VALUES ('expired-session', X'00', strftime('%Y-%m-%d %H:%M:%f+00:00', 'now', '-1 hour'))",
        millrace::server::db::Backend::Postgres => "INSERT INTO tower_sessions (id, data, expiry_date) VALUES ('expired-session', '\\x00', now() - interval '1 hour')",
    };
    sqlx::query(insert).execute(&app.db).await.unwrap();
    let mut live = Browser::open(&app.url).await;
    live.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert_eq!(
        millrace::server::telemetry::active_sessions(&app.db)
            .await
            .unwrap(),
        1,
        "the expired session is not counted as active"
    );
    for _ in 0..50 {
        if session_rows(&app).await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the expired session was never deleted");
}

/// The latest expiry among the stored sessions, as the store wrote it.
async fn latest_expiry(app: &TestApp) -> String {
    scalar(app, "SELECT CAST(MAX(expiry_date) AS TEXT) FROM tower_sessions").await
}

/// A session in use is saved again now and then (not on every page: at most once an
/// hour), so it expires 12 hours after its last use rather than 12 hours after sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_in_use_is_kept_alive_and_saved_at_most_once_an_hour() {
    let app = spawn_app().await;
    let mut ana = Browser::open(&app.url).await;
    ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    let first = ana.get("/orders", &[]).await;
    assert!(first.status().is_success(), "{}", first.status());
    let marked = latest_expiry(&app).await;

    // Used again within the hour: not saved, so no cookie and the same expiry.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = ana.get("/orders", &[]).await;
    assert!(again.status().is_success());
    assert!(
        again.headers().get("set-cookie").is_none(),
        "saved on every page: {:?}",
        again.headers().get("set-cookie")
    );
    assert_eq!(latest_expiry(&app).await, marked);

    // Used two hours later: saved, its expiry moved on, and the browser's cookie with it.
    app.clock.advance(chrono::Duration::hours(2));
    let later = ana.get("/orders", &[]).await;
    assert!(later.status().is_success());
    let cookie = later
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().to_string())
        .expect("the session's cookie is renewed");
    assert!(cookie.contains("Max-Age="), "{cookie}");
    let renewed = latest_expiry(&app).await;
    assert!(renewed > marked, "{renewed} after {marked}");
    assert!(
        ana.orders("").await["orders"].is_array(),
        "still signed in"
    );
}

/// A session cookie kept from before a sign-out (copied, stolen) opens nothing after it, at
/// once: on SQLite the session was also served from memory, which the sign-out empties too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_kept_from_before_sign_out_opens_nothing_after_it() {
    use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
    let app = spawn_app().await;
    let mut ana = Browser::open(&app.url).await;
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("millrace_session="))
        .and_then(|c| c.split(';').next())
        .expect("signing in sets the session cookie")
        .to_string();
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let orders = || {
        replay
            .get(format!("{}/orders", app.url))
            .header(COOKIE, &cookie)
            .send()
    };
    let before = orders().await.unwrap();
    assert_eq!(before.status(), 200, "the copied cookie is the session");
    assert!(before.text().await.unwrap().contains("PO"), "Ana's orders");

    let out = ana.post("/api/logout", &[]).await;
    assert!(
        out.status().is_success() || out.status().is_redirection(),
        "sign-out: {}",
        out.status()
    );
    let after = orders().await.unwrap();
    assert!(
        after.status().is_redirection(),
        "the page answered {} to a signed-out session",
        after.status()
    );
    let to = after.headers()[LOCATION].to_str().unwrap();
    assert!(to.starts_with("/login"), "sent to {to}");
}

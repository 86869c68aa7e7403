//! Signing in and out, sessions, password resets, time zones and deactivated users.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_session_or_csrf_token_are_refused() {
    let app = spawn_app().await;
    let anonymous = Browser::open(&app.url).await;
    let r = anonymous
        .http
        .get(format!("{}/orders", app.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    let r = anonymous.orders_page("", "").await;
    assert_eq!(r.status(), 401);

    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let r = ana
        .http
        .post(format!("{}/api/orders/acknowledge", app.url))
        .form(&[("order_id", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = ana
        .http
        .post(format!("{}/api/orders/acknowledge", app.url))
        .header("Origin", "https://evil.example")
        .form(&[("order_id", "1"), ("csrf_token", &ana.csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rotates_the_session_and_locks_out_after_repeated_failures() {
    let app = spawn_app().await;
    let mut b = Browser::open(&app.url).await;
    let before = b
        .http
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    drop(before);
    for _ in 0..5 {
        let r = b.sign_in("lea@gemini.example", "wrong password").await;
        assert_eq!(r.status(), 401);
    }
    let r = b.sign_in("lea@gemini.example", "gemini-user-pass").await;
    assert_eq!(
        r.status(),
        429,
        "the sixth try is locked out even with the right password"
    );
    assert!(r.text().await.unwrap().contains("too many failed sign-ins"));
    let (fails,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(fails, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_link_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    let mut old_session = Browser::open(&app.url).await;
    old_session
        .sign_in("lea@gemini.example", "gemini-user-pass")
        .await;
    assert_eq!(
        old_session.get("/api/shipments/list", &[]).await.status(),
        200
    );

    let anonymous = Browser::open(&app.url).await;
    let known = anonymous
        .post(
            "/api/password-reset/request",
            &[("email", "lea@gemini.example")],
        )
        .await;
    let unknown = anonymous
        .post(
            "/api/password-reset/request",
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(known.status(), 200);
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "the answer does not reveal accounts"
    );
    let mails: Vec<(String, String)> = sqlx::query_as("SELECT to_address, body FROM mail_outbox")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "lea@gemini.example");
    let link = mails[0]
        .1
        .lines()
        .find(|l| l.contains("/password-reset/"))
        .unwrap()
        .trim()
        .to_string();
    let token = link.rsplit('/').next().unwrap().to_string();
    let (stored,): (String,) = sqlx::query_as("SELECT token_hash FROM password_reset_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(stored, token, "only a hash of the token is stored");

    let r = choose_password(&anonymous, &token, "short", "short").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at least 10 characters"));
    let r = choose_password(
        &anonymous,
        &token,
        "a-new-long-password",
        "a-new-long-password",
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = choose_password(
        &anonymous,
        &token,
        "another-long-password",
        "another-long-password",
    )
    .await;
    assert_eq!(r.status(), 422, "the link works once");

    // The session opened before the reset is over; the old password no longer works.
    assert_eq!(
        old_session.get("/api/shipments/list", &[]).await.status(),
        401
    );
    let mut b = Browser::open(&app.url).await;
    assert_eq!(
        b.sign_in("lea@gemini.example", "gemini-user-pass")
            .await
            .status(),
        401
    );
    let r = b.sign_in("lea@gemini.example", "a-new-long-password").await;
    assert!(r.status().is_success() || r.status().is_redirection());

    // An expired link is refused.
    anonymous
        .post(
            "/api/password-reset/request",
            &[("email", "ana@gemini.example")],
        )
        .await;
    let body: (String,) = sqlx::query_as("SELECT body FROM mail_outbox ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let token = body
        .0
        .lines()
        .find(|l| l.contains("/password-reset/"))
        .unwrap()
        .trim()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    // Links are valid for an hour.
    app.clock.advance(chrono::Duration::hours(2));
    let r = choose_password(
        &anonymous,
        &token,
        "a-new-long-password",
        "a-new-long-password",
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not valid any more"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_show_in_the_users_zone_and_the_account_changes_take_effect() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    // The demo puts Ana in Europe/Brussels.
    let first = page.orders[0].date_order.clone().unwrap();
    assert!(
        first.ends_with(" CET") || first.ends_with(" CEST"),
        "{first}"
    );
    let (stored,): (String,) =
        sqlx::query_as("SELECT date_order FROM purchase_orders WHERE id = $1")
            .bind(page.orders[0].id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let expected = chrono_tz::Europe::Brussels
        .from_utc_datetime(
            &chrono::NaiveDateTime::parse_from_str(&stored, "%Y-%m-%d %H:%M:%S").unwrap(),
        )
        .format("%Y-%m-%d %H:%M %Z")
        .to_string();
    assert_eq!(first, expected);

    assert_eq!(
        ana.post("/api/account/time-zone", &[("time_zone", "Mars/Olympus")])
            .await
            .status(),
        422
    );
    assert_eq!(
        ana.post("/api/account/time-zone", &[("time_zone", "Asia/Tokyo")])
            .await
            .status(),
        200
    );
    let again = ana.order_page("").await;
    assert!(again.orders[0]
        .date_order
        .as_deref()
        .unwrap()
        .ends_with(" JST"));

    // Password change: the current one is checked, and every session ends.
    let mut other = Browser::open(&app.url).await;
    other
        .sign_in("ana@gemini.example", "gemini-demo-pass")
        .await;
    let r = ana
        .post(
            "/api/account/password",
            &[
                ("current", "nope"),
                ("password", "a-brand-new-pass"),
                ("confirm", "a-brand-new-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = ana
        .post(
            "/api/account/password",
            &[
                ("current", "gemini-demo-pass"),
                ("password", "a-brand-new-pass"),
                ("confirm", "a-brand-new-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(other.get("/api/shipments/list", &[]).await.status(), 401);
    assert_eq!(ana.get("/api/shipments/list", &[]).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_a_user_ends_their_open_session_at_once() {
    let app = spawn_app().await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    assert_eq!(lea.get("/api/shipments/list", &[]).await.status(), 200);
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = 'lea@gemini.example'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    millrace::server::auth::users::set_active(&app.db, id, false)
        .await
        .unwrap();
    assert_eq!(lea.get("/api/shipments/list", &[]).await.status(), 401);
    let r = lea
        .http
        .get(format!("{}/orders", app.url))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection(),
        "pages send a deactivated user to /login"
    );
    let mut again = Browser::open(&app.url).await;
    assert_eq!(
        again
            .sign_in("lea@gemini.example", "gemini-user-pass")
            .await
            .status(),
        401
    );
}

//! The `millrace` command as an operator runs it, as a black box (the real binary, a fresh
//! database): `admin create` and the link it prints, `serve` with every setting on making
//! no account by itself, and `demo` still making its logins. On SQLite, and on PostgreSQL
//! with `MILLRACE_TEST_DATABASE=postgres`.

use std::process::Output;

mod common;

use common::process::{free_port, millrace, serve_with_double, Running};
use common::Browser;
use millrace::odoo_double::Seed;
use millrace::server::secrets::SealingKeys;
use serde_json::Value;

fn admin_create(database_url: &str, public_url: &str, email: &str, name: &str) -> Output {
    millrace(database_url)
        .args(["admin", "create", "--email", email, "--name", name])
        .env("MILLRACE_PUBLIC_URL", public_url)
        .output()
        .expect("millrace admin create runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_is_made_by_the_command_and_signs_in_with_the_link_once() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = common::database_url(dir.path()).await;
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");

    // A fresh database, never migrated: the command does it.
    let out = admin_create(
        &database_url,
        &public_url,
        " Rita.Root@Example.com ",
        "Rita Root",
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{public_url}/password-reset/")))
        .unwrap_or_else(|| panic!("a link to choose the password in:\n{stdout}"))
        .trim()
        .to_string();
    let token = link.rsplit('/').next().unwrap().to_string();

    let db = millrace::server::db::open(&database_url).await.unwrap();
    let users: Vec<(String, String, String)> =
        sqlx::query_as("SELECT email, role, display_name FROM users")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        users,
        vec![(
            "rita.root@example.com".to_string(),
            "admin".to_string(),
            "Rita Root".to_string()
        )]
    );
    let (expires_at, purpose): (String, String) =
        sqlx::query_as("SELECT expires_at, purpose FROM password_reset_tokens")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(purpose, "invitation");
    let expires = chrono::NaiveDateTime::parse_from_str(&expires_at, "%Y-%m-%d %H:%M:%S").unwrap();
    let valid_for = expires - chrono::Utc::now().naive_utc();
    assert!(
        valid_for > chrono::Duration::hours(23) && valid_for <= chrono::Duration::hours(24),
        "valid 24 hours, not {valid_for}"
    );
    let audited: Vec<(Option<i64>, String)> = sqlx::query_as(
        "SELECT actor_user_id, target FROM audit_log WHERE action = 'admin_created'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(audited, vec![(None, "rita.root@example.com".to_string())]);

    // The portal, as deployed: the link is followed, the password chosen, the admin in.
    let mut portal = Running::start(
        {
            let mut c = millrace(&database_url);
            c.args(["serve", "--port", &port.to_string()])
                .env("MILLRACE_PUBLIC_URL", &public_url)
                .env("MILLRACE_UPLOAD_DIR", dir.path().join("uploads"));
            c
        },
        port,
        &dir.path().join("serve.log"),
    );
    portal.ready_when(|_| true).await;
    let mut browser = Browser::open(&public_url).await;
    assert_eq!(
        browser
            .sign_in("rita.root@example.com", "a-guess-before-the-link")
            .await
            .status(),
        401,
        "no password before the link is used"
    );
    let page = browser.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("password"));
    let choose = |password: &'static str| {
        let browser = &browser;
        let token = token.clone();
        async move {
            browser
                .post(
                    "/api/password-reset/complete",
                    &[
                        ("token", token.as_str()),
                        ("password", password),
                        ("confirm", password),
                    ],
                )
                .await
        }
    };
    let r = choose("rita-chooses-a-long-one").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = choose("someone-else-tries-again").await;
    assert_eq!(r.status(), 422, "the link works once");

    let r = browser
        .sign_in("rita.root@example.com", "rita-chooses-a-long-one")
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "sign-in: {}",
        r.status()
    );
    let admin_page = browser
        .http
        .get(format!("{public_url}/admin/staff"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin_page.status(), 200, "the admin reaches /admin");
    assert!(admin_page
        .text()
        .await
        .unwrap()
        .contains("rita.root@example.com"));

    // The same address again, however written: refused, nothing made.
    let again = admin_create(
        &database_url,
        &public_url,
        "RITA.ROOT@example.com",
        "Someone Else",
    );
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("rita.root@example.com has an account already"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&again.stdout).contains("/password-reset/"));
    let bad = admin_create(&database_url, &public_url, "not-an-address", "");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("email address") && stderr.contains("name"),
        "{stderr}"
    );
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 1);
    portal.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_every_setting_on_makes_no_account() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = common::database_url(dir.path()).await;
    let double = common::start_double(19, Seed::Demo).await;
    let port = free_port();
    let mut portal = Running::start(
        {
            let mut c = serve_with_double(&database_url, port, &double);
            c.env("MILLRACE_BIND", "127.0.0.1")
                .env("MILLRACE_ODOO_TRANSPORT", "auto")
                .env("MILLRACE_ODOO_TIMEOUT_SECONDS", "5")
                .env("MILLRACE_ODOO_MAX_CONCURRENT_CALLS", "2")
                .env("MILLRACE_POLL_INTERVAL_SECONDS", "1")
                .env("MILLRACE_WEBHOOK_TOKEN", "a-webhook-token")
                .env("MILLRACE_OUTBOX_MAX_ATTEMPTS", "3")
                .env("MILLRACE_OUTBOX_RETRY_CAP_SECONDS", "5")
                .env("MILLRACE_OUTBOX_LEASE_SECONDS", "10")
                .env("MILLRACE_INCLUDE_RFQS", "true")
                .env("MILLRACE_TOLERANCE_DAYS", "3")
                .env("MILLRACE_TOLERANCE_PERCENT", "10")
                .env("MILLRACE_DIGEST_HOURS", "1")
                .env("MILLRACE_ACK_WINDOW_HOURS", "12")
                .env("MILLRACE_OVER_DELIVERY_PERCENT", "5")
                .env("MILLRACE_UPLOAD_DIR", dir.path().join("uploads"))
                .env("MILLRACE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
                .env("MILLRACE_SMTP_URL", "smtp://127.0.0.1:1")
                .env("MILLRACE_MAIL_FROM", "Portal <portal@example.com>")
                .env("MILLRACE_SECURE_COOKIES", "true")
                .env("MILLRACE_METRICS_TOKEN", "a-metrics-token")
                .env("MILLRACE_DEV_MAILBOX", "true")
                .env("MILLRACE_SECRET_KEY", SealingKeys::generate())
                .env("MILLRACE_SECRET_KEY_PREVIOUS", SealingKeys::generate())
                .env("MILLRACE_LOG_FORMAT", "json");
            c
        },
        port,
        &dir.path().join("serve.log"),
    );
    // Up, and connected to Odoo (its background work has started).
    portal
        .ready_when(|body| body["odoo_connection"]["current"] == Value::Bool(true))
        .await;
    let mailbox = reqwest::get(format!("{}/dev/mailbox", portal.url))
        .await
        .unwrap();
    // On, but mail holds password links: outside the demo only admins read it.
    assert_eq!(
        mailbox.status(),
        404,
        "the dev mailbox is closed to anonymous visitors"
    );
    let mut b = Browser::open(&portal.url).await;
    for (_, email, password, _, _) in millrace::server::demo::DEMO_LOGINS {
        assert_eq!(b.sign_in(email, password).await.status(), 401, "{email}");
    }
    portal.stop();

    let db = millrace::server::db::open(&database_url).await.unwrap();
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    let (suppliers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM suppliers")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        (users, suppliers),
        (0, 0),
        "serve made accounts or linked vendors"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_still_makes_its_logins() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = common::database_url(dir.path()).await;
    let port = free_port();
    let mut demo = Running::start(
        {
            // SQLite in the data folder, unless the URL names PostgreSQL.
            let mut c = millrace(&database_url);
            c.args(["demo", "--port", &port.to_string(), "--data-dir"])
                .arg(dir.path().join("data"));
            c
        },
        port,
        &dir.path().join("demo.log"),
    );
    demo.ready_when(|_| true).await;
    assert!(demo
        .output()
        .contains("login: admin admin@millrace.example admin-demo-pass"));
    let mut b = Browser::open(&demo.url).await;
    let r = b.sign_in("admin@millrace.example", "admin-demo-pass").await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    demo.stop();
}

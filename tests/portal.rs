//! Black-box tests: the real app on port 0 with a fresh SQLite file, the Odoo double on
//! port 0, talked to over HTTP like a browser would (cookies, CSRF token, form posts).

use std::sync::Arc;
use std::time::Duration;

#[path = "portal/audit.rs"]
mod audit;
#[path = "portal/bounded_reads.rs"]
mod bounded_reads;
mod common;
#[path = "portal/counts.rs"]
mod counts;
#[path = "portal/delivery.rs"]
mod delivery;
#[path = "portal/errors.rs"]
mod errors;
#[path = "portal/http_surface.rs"]
mod http_surface;
#[path = "portal/mail.rs"]
mod mail;
#[path = "portal/sessions.rs"]
mod sessions;
#[path = "portal/shipment_rules.rs"]
mod shipment_rules;

use chrono::TimeZone;
use common::Browser;
use millrace::odoo_double::{Faults, RunningDouble, Seed};
use millrace::server::odoo::{OdooClient, TransportChoice};
use millrace::server::settings::Settings;
use millrace::server::{self, AppState};
use serde_json::{json, Value};
use tokio::sync::watch;

/// Doubled and retried submissions, action by action.
#[path = "portal/duplicates.rs"]
mod duplicates;

struct TestApp {
    url: String,
    double: RunningDouble,
    db: millrace::server::db::Db,
    /// The app's clock: tests move time with it.
    clock: millrace::server::clock::Clock,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let app = spawn_app_unsynced(configure).await;
    // Tests start from a portal that has finished its first poll (its cursor is stored).
    for _ in 0..200 {
        if sqlx::query("SELECT 1 FROM sync_cursors")
            .fetch_optional(&app.db)
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

/// The app as it answers its first request, before anything was read from Odoo.
async fn spawn_app_unsynced(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_serving(configure, None).await
}

/// The app, unsynced, serving the site in `site_root` (default: the built site, target/site).
async fn spawn_app_serving(
    configure: impl FnOnce(&mut Settings),
    site_root: Option<&std::path::Path>,
) -> TestApp {
    // Odoo 19 with Inventory and stock_delivery (tests/odoo_versions.rs runs the other sets).
    let double = common::start_double_with(millrace::odoo_double::DoubleConfig {
        modules: Some(millrace::odoo_double::Modules::PURCHASE_STOCK_DELIVERY),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests();
    settings.database_url = common::database_url(dir.path()).await.into();
    settings.odoo = Some(common::odoo_settings(&double, TransportChoice::Auto));
    settings.poll_interval = Duration::from_millis(300);
    settings.outbox_max_attempts = 5;
    settings.upload_dir = dir.path().join("uploads");
    // Digests are sent by tests that want them (notify::send_digests), not at start.
    settings.digest_hours = 0;
    configure(&mut settings);
    let db = server::db::open(settings.database_url.expose())
        .await
        .unwrap();
    server::demo::seed(&db).await.unwrap();
    let mut conf = leptos::prelude::get_configuration(Some("Cargo.toml")).unwrap();
    if let Some(site_root) = site_root {
        conf.leptos_options.site_root = site_root.to_string_lossy().as_ref().into();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(db.clone(), Arc::new(settings), conf.leptos_options);
    let clock = state.clock.clone();
    let (stop, rx) = watch::channel(false);
    tokio::spawn(server::run(listener, state, rx));
    TestApp {
        url,
        double,
        db,
        clock,
        _dir: dir,
        _stop: stop,
    }
}

/// A browser signed in as `email`.
async fn signed_in(app: &TestApp, email: &str, password: &str) -> Browser {
    let mut b = Browser::open(&app.url).await;
    let r = b.sign_in(email, password).await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "sign-in as {email}: {}",
        r.status()
    );
    b
}

/// The supplier's first page of orders once the poller has stored at least `min`.
async fn synced_orders(b: &Browser, min: i64) -> Value {
    for _ in 0..100 {
        let page = b.orders("").await;
        if page["total"].as_i64().unwrap_or(0) >= min {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("orders never synced from the double");
}

use common::app::eventually;

fn odoo_order(double: &RunningDouble, name: &str) -> (i64, bool, Vec<String>) {
    double.with_env(|env| {
        let (id, rec) = env
            .table("purchase.order")
            .find(|(_, r)| r["name"] == name)
            .map(|(i, r)| (*i, r.clone()))
            .unwrap();
        let notes = env
            .table("mail.message")
            .filter(|(_, m)| m["model"] == "purchase.order" && m["res_id"] == id)
            .map(|(_, m)| m["body"].as_str().unwrap_or_default().to_string())
            .collect();
        (
            id,
            rec.get("acknowledged") == Some(&Value::Bool(true)),
            notes,
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplier_acknowledges_and_odoo_gets_it_once_with_the_correlation_id() {
    let app = spawn_app().await;
    let mut ana = Browser::open(&app.url).await;
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );

    let page = synced_orders(&ana, 1).await;
    // Gemini Furniture's confirmed orders only; newest first.
    let orders = page["orders"].as_array().unwrap();
    assert!(
        orders
            .iter()
            .all(|o| o["supplier_name"] == "Gemini Furniture"),
        "{orders:?}"
    );
    let first = &orders[0];
    let order_id = first["id"].as_i64().unwrap().to_string();
    let name = first["name"].as_str().unwrap().to_string();

    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    eventually("the double holds the acknowledgment and one note", || {
        let (_, acknowledged, notes) = odoo_order(&app.double, &name);
        async move {
            acknowledged
                && notes
                    .iter()
                    .any(|n| n.contains("Acknowledged by Ana Silva"))
        }
    })
    .await;
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    assert_eq!(detail["status"], "Acknowledged");
    let correlation = detail["deliveries"][0]["correlation_id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("the delivery is marked delivered", || {
        let ana = &ana;
        let order_id = order_id.clone();
        async move {
            let d: Value = ana.order(&order_id).await.json().await.unwrap();
            d["deliveries"][0]["status"] == "delivered"
        }
    })
    .await;
    let (_, _, notes) = odoo_order(&app.double, &name);
    assert_eq!(
        notes.iter().filter(|n| n.contains(&correlation)).count(),
        1,
        "{notes:?}"
    );

    // Acknowledging twice changes nothing and says so; nothing more reaches Odoo.
    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("acknowledged already"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_supplier_cannot_read_or_act_on_the_order() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let tom = signed_in(&app, "tom@woodcorner.example", "woodcorner-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    let name = page["orders"][0]["name"].as_str().unwrap().to_string();

    let r = tom.order(&order_id).await;
    assert_eq!(r.status(), 404);
    let r = tom
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 404);
    let r = tom
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &order_id),
                ("line_id", "1"),
                ("answer", "accept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    let toms = tom.orders(&name).await;
    assert_eq!(toms["total"], 0, "{toms}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, acknowledged, _) = odoo_order(&app.double, &name);
    assert!(!acknowledged);
}

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
async fn a_proposal_within_tolerance_moves_the_date_in_odoo_and_one_outside_waits() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["line_count"].as_i64().unwrap() >= 2)
        .unwrap()
        .clone();
    let order_id = order["id"].as_i64().unwrap().to_string();
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    let line = &detail["lines"][0];
    let requested = chrono::NaiveDate::parse_from_str(
        &line["date_planned"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    let inside = (requested + chrono::Duration::days(2)).to_string();
    let line_id = line["id"].as_i64().unwrap().to_string();

    // Bad input: a clear message, nothing stored.
    let r = propose_date(&ana, &order_id, &line_id, &inside, "").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Give a reason"));

    let r = propose_date(&ana, &order_id, &line_id, &inside, "furnace maintenance").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let line_odoo_id: (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(line["id"].as_i64().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    eventually("the double holds the new date", || {
        let got = app.double.with_env(|env| {
            env.get("purchase.order.line", line_odoo_id.0)
                .and_then(|l| l["date_planned"].as_str().map(String::from))
        });
        let inside = inside.clone();
        async move { got.is_some_and(|d| d.starts_with(&inside)) }
    })
    .await;

    let line2 = &detail["lines"][1];
    let far = (chrono::NaiveDate::parse_from_str(
        &line2["date_planned"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap()
        + chrono::Duration::days(30))
    .to_string();
    let r = propose_date(
        &ana,
        &order_id,
        &line2["id"].as_i64().unwrap().to_string(),
        &far,
        "steel shortage",
    )
    .await;
    assert_eq!(r.status(), 200);
    let d: Value = ana.order(&order_id).await.json().await.unwrap();
    assert_eq!(d["status"], "ChangesProposed", "{}", d["change_summary"]);
    assert_eq!(d["lines"][1]["answer"], "ProposalPending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_odoo_being_down_and_lost_replies_without_doubling() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 3).await;
    // Every reply is lost after Odoo wrote: the worker must not post a second note.
    app.double.set_faults(Faults {
        lost_reply_rate: 1.0,
        ..Default::default()
    });
    let order = &page["orders"][0];
    let r = ana
        .post(
            "/api/orders/acknowledge",
            &[("order_id", &order["id"].as_i64().unwrap().to_string())],
        )
        .await;
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.double.set_faults(Faults::default());
    // Move time past the backoff instead of waiting it out.
    app.clock.advance(chrono::Duration::days(1));
    let name = order["name"].as_str().unwrap().to_string();
    eventually("delivered after the faults stop", || {
        let db = app.db.clone();
        async move {
            let (n,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM outbox_messages WHERE status = 'delivered'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            n == 1
        }
    })
    .await;
    let (_, acknowledged, notes) = odoo_order(&app.double, &name);
    assert!(acknowledged);
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("Acknowledged by"))
            .count(),
        1,
        "{notes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_odoo_after_the_answer_shows_as_changed() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    let name = page["orders"][0]["name"].as_str().unwrap().to_string();
    ana.post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    // The buyer edits a quantity in Odoo.
    let line_id = app.double.with_env(|env| {
        let po = env
            .table("purchase.order")
            .find(|(_, r)| r["name"] == name.as_str())
            .map(|(i, _)| *i)
            .unwrap();
        env.table("purchase.order.line")
            .find(|(_, l)| l["order_id"] == po)
            .map(|(i, _)| *i)
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(1100)).await; // a later write_date second
    app.double.with_env(|env| {
        let user = env.users[0].clone();
        let mut p = serde_json::Map::new();
        p.insert("vals".into(), serde_json::json!({"product_qty": 999.0}));
        env.execute(
            &user,
            "purchase.order.line",
            "write",
            Some(vec![line_id]),
            p,
        )
        .unwrap();
    });
    eventually("the portal shows the change", || {
        let ana = &ana;
        let order_id = order_id.clone();
        async move {
            let d: Value = ana.order(&order_id).await.json().await.unwrap();
            d["status"] == "ChangedInOdoo"
                && d["change_summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("999"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_is_dead_lettered_and_only_staff_can_replay_or_discard_it() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    // Odoo refuses everything for a while: the API key stops working (a permanent error).
    let key = app
        .double
        .with_env(|env| std::mem::replace(&mut env.users[0].api_keys, vec!["revoked".into()]));
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &order_id)])
            .await
            .status(),
        200
    );
    eventually("the message is dead-lettered at once", || {
        let db = app.db.clone();
        async move {
            let row: Option<(String, i64)> =
                sqlx::query_as("SELECT status, attempts FROM outbox_messages")
                    .fetch_optional(&db)
                    .await
                    .unwrap();
            row.is_some_and(|(s, a)| s == "dead" && a == 1)
        }
    })
    .await;

    // A supplier may not see or touch dead letters.
    assert_eq!(ana.get("/api/sync/dead-letters", &[]).await.status(), 403);
    assert_eq!(
        ana.post("/api/sync/replay", &[("id", "1")]).await.status(),
        403
    );

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let letters: Value = buyer
        .get("/api/sync/dead-letters", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(letters[0]["kind"], "acknowledge");
    assert_eq!(letters[0]["supplier_name"], "Gemini Furniture");
    assert!(
        letters[0]["error"]
            .as_str()
            .unwrap()
            .contains("odoo refused"),
        "{letters}"
    );
    let id = letters[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        buyer
            .post("/api/sync/discard", &[("id", &id), ("reason", " ")])
            .await
            .status(),
        422
    );

    // The key is fixed in Odoo; the buyer replays and the acknowledgment arrives once.
    app.double.with_env(|env| env.users[0].api_keys = key);
    assert_eq!(
        buyer
            .post("/api/sync/replay", &[("id", &id)])
            .await
            .status(),
        200
    );
    let name = page["orders"][0]["name"].as_str().unwrap().to_string();
    eventually("delivered after replay", || {
        let (_, acknowledged, _) = odoo_order(&app.double, &name);
        async move { acknowledged }
    })
    .await;
    let (audits,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'outbox_replay'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audits, 1);
}

/// The first of the supplier's open lines with this tracking (`none`, `lot`, `serial`).
async fn open_line(b: &Browser, tracking: &str) -> Value {
    let lines: Value = b
        .get("/api/shipments/open-lines", &[("orders", "")])
        .await
        .json()
        .await
        .unwrap();
    lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tracking"] == tracking)
        .unwrap_or_else(|| panic!("an open line tracked by {tracking}"))
        .clone()
}

fn asn_form<'a>(
    lines: &'a [(String, &'a str, &'a str)],
    carrier: &'a str,
) -> Vec<(String, String)> {
    let today = chrono::Utc::now().date_naive();
    let mut f = vec![
        ("shipment[ship_date]".to_string(), today.to_string()),
        (
            "shipment[expected_arrival]".to_string(),
            (today + chrono::Duration::days(3)).to_string(),
        ),
        ("shipment[carrier]".to_string(), carrier.to_string()),
        (
            "shipment[tracking_number]".to_string(),
            "1Z999AA10123456784".to_string(),
        ),
        ("shipment[package_count]".to_string(), "2".to_string()),
    ];
    for (i, (line, qty, lots)) in lines.iter().enumerate() {
        f.push((format!("shipment[lines][{i}][line_id]"), line.clone()));
        f.push((format!("shipment[lines][{i}][quantity]"), qty.to_string()));
        f.push((format!("shipment[lines][{i}][lots]"), lots.to_string()));
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_notice_is_checked_in_full_then_prefills_the_odoo_receipt() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let lines: Value = ana
        .get("/api/shipments/open-lines", &[("orders", "")])
        .await
        .json()
        .await
        .unwrap();
    let lines = lines.as_array().unwrap();
    let lot_line = lines
        .iter()
        .find(|l| l["tracking"] == "lot")
        .expect("a lot-tracked open line")
        .clone();
    let plain = lines
        .iter()
        .find(|l| l["tracking"] == "none" && l["order_id"] == lot_line["order_id"])
        .or_else(|| lines.iter().find(|l| l["tracking"] == "none"))
        .unwrap()
        .clone();
    let open: rust_decimal::Decimal = lot_line["open_quantity"].as_str().unwrap().parse().unwrap();
    let lot_id = lot_line["line_id"].as_i64().unwrap().to_string();
    let plain_id = plain["line_id"].as_i64().unwrap().to_string();

    // Everything wrong at once: each problem named, nothing stored.
    let too_many = (open + rust_decimal::Decimal::ONE).to_string();
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(
                &[(lot_id.clone(), &too_many, ""), (plain_id.clone(), "1", "")],
                " ",
            ),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Carrier: say who carries the goods"),
        "{body}"
    );
    assert!(body.contains("may still be shipped"), "{body}");
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shipment_notices")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(lot_id.clone(), "1", "")], "DHL"),
        )
        .await;
    assert!(r.text().await.unwrap().contains("give a lot number"));

    // Another supplier cannot ship Ana's lines.
    let tom = signed_in(&app, "tom@woodcorner.example", "woodcorner-demo-pass").await;
    let r = tom
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(plain_id.clone(), "1", "")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 404);

    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(
                &[
                    (lot_id.clone(), "2", "LOT-2026-11"),
                    (plain_id.clone(), "1", ""),
                ],
                "DHL",
            ),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let list: Value = ana
        .get("/api/shipments/list", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["number"], "ASN-000001");
    assert_eq!(
        tom.get("/api/shipments/list", &[])
            .await
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );

    let line_odoo: (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(lot_line["line_id"].as_i64())
            .fetch_one(&app.db)
            .await
            .unwrap();
    // What "Odoo" holds for the line's receipt: tracking ref, state, (quantity, lot) per move line.
    let receipt = |env: &mut millrace::odoo_double::Env| {
        let mv = *env
            .ids_where("stock.move", "purchase_line_id", &json!(line_odoo.0))
            .first()?;
        let picking = env.value("stock.move", mv, "picking_id").as_i64()?;
        let mut mls: Vec<(f64, Value)> = env
            .ids_where("stock.move.line", "move_id", &json!(mv))
            .into_iter()
            .map(|ml| {
                (
                    env.value("stock.move.line", ml, "quantity")
                        .as_f64()
                        .unwrap_or(0.0),
                    env.value("stock.move.line", ml, "lot_name"),
                )
            })
            .collect();
        mls.sort_by(|a, b| a.0.total_cmp(&b.0));
        let demand = env.value("stock.move", mv, "product_uom_qty").as_f64()?;
        Some((
            env.value("stock.picking", picking, "carrier_tracking_ref"),
            env.value("stock.picking", picking, "state"),
            mls,
            demand,
        ))
    };
    eventually(
        "the receipt holds the lot and the tracking number, not validated",
        || {
            let got = app.double.with_env(receipt);
            async move {
                got.is_some_and(|(tracking, state, mls, _)| {
                    tracking == json!("DHL 1Z999AA10123456784")
                        && state == json!("assigned")
                        && mls == vec![(2.0, json!("LOT-2026-11"))]
                })
            }
        },
    )
    .await;

    // Cancelling puts Odoo's receipt back as it was.
    let id = list[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        tom.post("/api/shipments/cancel", &[("id", &id)])
            .await
            .status(),
        404
    );
    assert_eq!(
        ana.post("/api/shipments/cancel", &[("id", &id)])
            .await
            .status(),
        200
    );
    eventually("the move line is back to the demand, without a lot", || {
        let got = app.double.with_env(receipt);
        async move {
            got.is_some_and(|(tracking, _, mls, demand)| {
                tracking == json!(false) && mls == vec![(demand, json!(false))]
            })
        }
    })
    .await;
    // Cancelling again changes nothing and says so.
    let r = ana.post("/api/shipments/cancel", &[("id", &id)]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("cancelled already"));
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
async fn an_odoo_webhook_makes_a_new_order_show_at_once_but_is_never_trusted_as_data() {
    let app = spawn_app_with(|s| {
        s.poll_interval = Duration::from_secs(3600);
        s.webhook_token = Some(millrace::server::settings::Secret::new("hook-secret-123"));
    })
    .await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    eventually("the first poll has stored its cursor", || {
        let db = app.db.clone();
        async move {
            sqlx::query("SELECT 1 FROM sync_cursors")
                .fetch_optional(&db)
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    let before = ana.orders("").await["total"].as_i64().unwrap();
    // A buyer confirms a new order for Gemini Furniture in Odoo.
    let id = app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let mut p = serde_json::Map::new();
        p.insert("vals_list".into(), json!([{"partner_id": 10, "order_line": [[0, 0, {"product_id": 19, "product_qty": 3.0, "price_unit": 9.5}]]}]));
        let id = env.execute(&admin, "purchase.order", "create", None, p).unwrap()[0].as_i64().unwrap();
        env.execute(&admin, "purchase.order", "button_confirm", Some(vec![id]), serde_json::Map::new()).unwrap();
        id
    });
    let name = app
        .double
        .with_env(|env| env.value("purchase.order", id, "name"));
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/hooks/odoo/wrong-token", app.url))
        .json(&json!({"_model": "purchase.order", "_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ana.orders("").await["total"].as_i64().unwrap(),
        before,
        "no poll without a valid webhook"
    );
    let r = http
        .post(format!("{}/hooks/odoo/hook-secret-123", app.url))
        .json(&json!({"_action": "Send Webhook Notification(#1)", "_model": "purchase.order", "_id": id, "name": "FORGED", "state": "purchase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually("the order is there after the webhook", || {
        let ana = &ana;
        async move { ana.orders("").await["total"].as_i64().unwrap() == before + 1 }
    })
    .await;
    let found = ana.orders(name.as_str().unwrap()).await;
    assert_eq!(
        found["orders"][0]["name"], name,
        "the name comes from Odoo, not the webhook body"
    );
    assert_eq!(ana.orders("FORGED").await["total"], 0);
}

/// In Odoo the order `name` moves to a vendor the portal does not serve; then a
/// reconciliation runs. Returns how many orders it hid.
async fn move_to_unserved_vendor_and_reconcile(app: &TestApp, name: &str) -> usize {
    app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let id = env.ids_where("purchase.order", "name", &json!(name))[0];
        let mut p = serde_json::Map::new();
        p.insert("vals".into(), json!({"partner_id": 15}));
        env.execute(&admin, "purchase.order", "write", Some(vec![id]), p)
            .unwrap();
    });
    let odoo = OdooClient::connect(common::odoo_settings(&app.double, TransportChoice::Auto))
        .await
        .unwrap();
    millrace::server::sync::poller::reconcile(&app.db, &odoo, false)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_hides_orders_odoo_no_longer_releases_to_the_supplier() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let total = page["total"].as_i64().unwrap();
    let name = page["orders"][0]["name"].as_str().unwrap().to_string();
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    assert_eq!(move_to_unserved_vendor_and_reconcile(&app, &name).await, 1);
    assert_eq!(ana.orders("").await["total"].as_i64().unwrap(), total - 1);
    assert_eq!(ana.order(&order_id).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_show_in_the_users_zone_and_the_account_changes_take_effect() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    // The demo puts Ana in Europe/Brussels.
    let first = page["orders"][0]["date_order"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        first.ends_with(" CET") || first.ends_with(" CEST"),
        "{first}"
    );
    let (stored,): (String,) =
        sqlx::query_as("SELECT date_order FROM purchase_orders WHERE id = $1")
            .bind(page["orders"][0]["id"].as_i64())
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
    let again = ana.orders("").await;
    assert!(again["orders"][0]["date_order"]
        .as_str()
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

/// Announces one unit of the supplier's first untracked open line; that line and the notice's id.
async fn one_line_notice(b: &Browser) -> (Value, i64) {
    synced_orders(b, 1).await;
    let line = open_line(b, "none").await;
    let r = b
        .post_owned(
            "/api/shipments/submit",
            &asn_form(
                &[(line["line_id"].as_i64().unwrap().to_string(), "1", "")],
                "DHL",
            ),
        )
        .await;
    assert_eq!(r.status(), 200);
    let notice = b
        .get("/api/shipments/list", &[])
        .await
        .json::<Value>()
        .await
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    (line, notice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_attached_to_a_notice_reaches_odoo_once_and_only_its_supplier_can_download_it() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (_, notice) = one_line_notice(&ana).await;
    let upload = |b: &Browser, token: Option<String>, name: &str, bytes: Vec<u8>| {
        let mut form = reqwest::multipart::Form::new();
        if let Some(t) = token {
            form = form.text("csrf_token", t);
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        b.http
            .post(format!("{}/shipments/{notice}/documents", b.base))
            .multipart(form)
            .send()
    };
    let pdf = b"%PDF-1.7\n% certificate of conformance\n".to_vec();

    let r = upload(&ana, None, "coc.pdf", pdf.clone()).await.unwrap();
    assert_eq!(r.status(), 403, "no token, no upload");
    let r = upload(
        &ana,
        Some(ana.csrf.clone()),
        "coc.pdf",
        b"MZ\x90 not a pdf".to_vec(),
    )
    .await
    .unwrap();
    assert!(
        r.headers()["location"].to_str().unwrap().contains("error="),
        "a disguised file is refused"
    );
    let r = upload(&ana, Some(ana.csrf.clone()), "../coc.pdf", pdf.clone())
        .await
        .unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("uploaded="),
        "{:?}",
        r.headers()
    );
    let list: Value = ana
        .get("/api/shipments/list", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["documents"][0]["file_name"], "coc.pdf");
    let doc = list[0]["documents"][0]["id"].as_i64().unwrap();

    let got = ana
        .http
        .get(format!("{}/shipments/{notice}/documents/{doc}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);
    let tom = signed_in(&app, "tom@woodcorner.example", "woodcorner-demo-pass").await;
    let r = tom
        .http
        .get(format!("{}/shipments/{notice}/documents/{doc}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = upload(&tom, Some(tom.csrf.clone()), "x.pdf", pdf.clone())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another supplier cannot attach to the notice"
    );

    eventually(
        "the document is an attachment on the receipt in Odoo",
        || {
            let atts = app.double.with_env(|env| {
                env.ids_where(
                    "ir.attachment",
                    "name",
                    &json!(format!("ASN-000001 coc.pdf")),
                )
                .into_iter()
                .map(|id| {
                    (
                        env.value("ir.attachment", id, "res_model"),
                        env.value("ir.attachment", id, "datas"),
                    )
                })
                .collect::<Vec<_>>()
            });
            async move {
                atts.len() == 1
                    && atts[0].0 == json!("stock.picking")
                    && atts[0].1 == json!("JVBERi0xLjcKJSBjZXJ0aWZpY2F0ZSBvZiBjb25mb3JtYW5jZQo=")
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_shows_odoos_receipts_and_follows_them_when_the_warehouse_validates() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "New")
        .unwrap()
        .clone();
    let id = order["id"].as_i64().unwrap().to_string();
    let name = order["name"].as_str().unwrap().to_string();
    let detail: Value = ana.order(&id).await.json().await.unwrap();
    assert_eq!(
        detail["receipts"][0]["state"], "assigned",
        "{}",
        detail["receipts"]
    );
    let receipt_name = detail["receipts"][0]["name"].as_str().unwrap().to_string();
    assert!(receipt_name.starts_with("WH/IN/"));

    // The warehouse validates the receipt in Odoo: everything arrives.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let po = env.ids_where("purchase.order", "name", &json!(name))[0];
        let picking = env.ids_where("stock.picking", "purchase_id", &json!(po))[0];
        env.execute(
            &admin,
            "stock.picking",
            "button_validate",
            Some(vec![picking]),
            serde_json::Map::new(),
        )
        .unwrap();
    });
    eventually(
        "the portal shows the receipt done and the order received",
        || {
            let ana = &ana;
            let id = id.clone();
            async move {
                let d: Value = ana.order(&id).await.json().await.unwrap();
                d["receipts"][0]["state"] == "done"
                    && d["status"] == "Received"
                    && d["lines"][0]["open_quantity"] == "0"
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_approves_one_proposal_and_rejects_another_and_a_supplier_cannot_decide() {
    let app = spawn_app_with(|s| s.ack_window_hours = 0).await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "New" && o["line_count"].as_i64().unwrap() >= 2)
        .unwrap()
        .clone();
    let order_id = order["id"].as_i64().unwrap().to_string();
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    let (l1, l2) = (&detail["lines"][0], &detail["lines"][1]);
    let far = |l: &Value| {
        (chrono::NaiveDate::parse_from_str(&l["date_planned"].as_str().unwrap()[..10], "%Y-%m-%d")
            .unwrap()
            + chrono::Duration::days(20))
        .to_string()
    };
    let (id1, id2) = (
        l1["id"].as_i64().unwrap().to_string(),
        l2["id"].as_i64().unwrap().to_string(),
    );
    let far1 = far(l1);
    for (id, date) in [(&id1, far1.clone()), (&id2, far(l2))] {
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", &order_id),
                    ("line_id", id),
                    ("answer", "propose"),
                    ("proposed_date", &date),
                    ("proposed_quantity", "1"),
                    ("reason", "capacity"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    // Suppliers cannot see or decide.
    assert_eq!(
        ana.get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
            .await
            .status(),
        403
    );
    assert_eq!(
        ana.post(
            "/api/buyer/decide",
            &[("line_id", &id1), ("decision", "approve")]
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        ana.http
            .get(format!("{}/buyer/exceptions", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let x: Value = buyer
        .get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        x["proposals"].as_array().unwrap().len(),
        2,
        "{}",
        x["proposals"]
    );
    assert!(
        !x["late_acknowledgments"].as_array().unwrap().is_empty(),
        "with a 0 h window every new order is late"
    );
    // The demo's orders name Mitchell Admin as their purchase representative.
    assert_eq!(x["buyers"], json!(["Mitchell Admin"]));
    let other: Value = buyer
        .get(
            "/api/buyer/exceptions",
            &[("supplier", ""), ("buyer", "Someone Else")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["proposals"], json!([]));
    assert_eq!(other["late_acknowledgments"], json!([]));
    let mitchell: Value = buyer
        .get(
            "/api/buyer/exceptions",
            &[("supplier", ""), ("buyer", "Mitchell Admin")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mitchell["proposals"].as_array().unwrap().len(), 2);
    let csv = buyer
        .http
        .get(format!(
            "{}/buyer/exceptions.csv?buyer=Someone%20Else",
            app.url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv, "category,order,supplier,detail,since\r\n",
        "the export follows the filter"
    );
    assert_eq!(
        buyer
            .post(
                "/api/buyer/decide",
                &[("line_id", &id2), ("decision", "reject"), ("reason", " ")]
            )
            .await
            .status(),
        422
    );
    assert_eq!(
        buyer
            .post(
                "/api/buyer/decide",
                &[("line_id", &id1), ("decision", "approve")]
            )
            .await
            .status(),
        200
    );
    assert_eq!(
        buyer
            .post(
                "/api/buyer/decide",
                &[
                    ("line_id", &id2),
                    ("decision", "reject"),
                    ("reason", "we need the full quantity")
                ]
            )
            .await
            .status(),
        200
    );
    // Deciding again the same way changes nothing and says so.
    let again = buyer
        .post(
            "/api/buyer/decide",
            &[("line_id", &id1), ("decision", "approve")],
        )
        .await;
    assert_eq!(again.status(), 200, "decided once");
    assert!(again.text().await.unwrap().contains("approved already"));

    let line_odoo: (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(l1["id"].as_i64())
            .fetch_one(&app.db)
            .await
            .unwrap();
    eventually("Odoo holds the approved date and quantity", || {
        let (date, qty) = app.double.with_env(|env| {
            (
                env.value("purchase.order.line", line_odoo.0, "date_planned"),
                env.value("purchase.order.line", line_odoo.0, "product_qty"),
            )
        });
        let far1 = far1.clone();
        async move { date.as_str().is_some_and(|d| d.starts_with(&far1)) && qty == json!(1.0) }
    })
    .await;
    let d: Value = ana.order(&order_id).await.json().await.unwrap();
    assert_eq!(d["lines"][0]["answer"], "ProposalAccepted");
    assert_eq!(d["lines"][1]["answer"], "ProposalRejected");
    assert_eq!(d["lines"][1]["buyer_reason"], "we need the full quantity");
    assert_eq!(d["status"], "ChangesRejected");
    // The supplier may answer the rejected line again.
    let r = ana
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &order_id),
                ("line_id", &id2),
                ("answer", "accept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_notices_show_as_at_risk_and_the_screen_exports_as_csv_for_staff_only() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let line = open_line(&ana, "none").await;
    // The open-lines view shows times in Ana's zone; the rule works on the stored UTC date.
    let (requested,): (String,) =
        sqlx::query_as("SELECT date_planned FROM purchase_order_lines WHERE id = $1")
            .bind(line["line_id"].as_i64())
            .fetch_one(&app.db)
            .await
            .unwrap();
    let requested = chrono::NaiveDate::parse_from_str(&requested[..10], "%Y-%m-%d").unwrap();
    let mut form = asn_form(
        &[(line["line_id"].as_i64().unwrap().to_string(), "1", "")],
        "DHL",
    );
    form[1].1 = (requested + chrono::Duration::days(5)).to_string();
    assert_eq!(
        ana.post_owned("/api/shipments/submit", &form)
            .await
            .status(),
        200
    );

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let x: Value = buyer
        .get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await
        .json()
        .await
        .unwrap();
    let risk = x["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["order_name"] == line["order_name"])
        .expect("the late line is at risk")
        .clone();
    assert_eq!(risk["why"], "arrives 5 day(s) after the requested date");

    let csv = buyer
        .http
        .get(format!("{}/buyer/exceptions.csv", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    assert!(
        body.starts_with("category,order,supplier,detail,since\r\n"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "at-risk delivery,{},Gemini Furniture,",
            line["order_name"].as_str().unwrap()
        )),
        "{body}"
    );
    let r = ana
        .http
        .get(format!("{}/buyer/exceptions.csv", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_the_database_migrations_worker_and_odoo_and_metrics_are_exposed() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let r = http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
    assert_eq!(
        ready["migrations"]["applied"],
        ready["migrations"]["expected"]
    );
    assert_eq!(ready["outbox_worker"], "alive");
    assert_eq!(ready["odoo"]["reachable"], true);

    // Odoo goes down: the portal stays ready (actions are kept) and says for how long.
    app.double.set_faults(Faults {
        down: true,
        ..Default::default()
    });
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    ana.post(
        "/api/orders/acknowledge",
        &[(
            "order_id",
            &page["orders"][0]["id"].as_i64().unwrap().to_string(),
        )],
    )
    .await;
    eventually("readyz sees Odoo down", || {
        let http = http.clone();
        let url = app.url.clone();
        async move {
            let r: Value = http
                .get(format!("{url}/readyz"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["ready"] == true
                && r["odoo"]["reachable"] == false
                && r["odoo"]["unreachable_for_seconds"].as_i64().is_some()
        }
    })
    .await;
    let metrics = http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "millrace_http_request_duration_seconds_bucket{route=\"/api/orders/list\"",
        "millrace_odoo_call_duration_seconds_count{model=\"purchase.order\"",
        "millrace_outbox_deliveries_total{outcome=\"retry\"}",
        "millrace_outbox_depth 1",
        "millrace_active_sessions",
        "millrace_outbox_oldest_pending_age_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    app.double.set_faults(Faults::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_approves_several_proposals_at_once_and_a_supplier_cannot() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "New" && o["line_count"].as_i64().unwrap() >= 2)
        .unwrap()
        .clone();
    let order_id = order["id"].as_i64().unwrap().to_string();
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    let mut ids = Vec::new();
    for l in detail["lines"].as_array().unwrap().iter().take(2) {
        let id = l["id"].as_i64().unwrap().to_string();
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", &order_id),
                    ("line_id", &id),
                    ("answer", "propose"),
                    ("proposed_quantity", "1"),
                    ("reason", "short of stock"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        ids.push(id);
    }
    let form = |b: &Browser| {
        vec![
            ("line_id", ids[0].clone()),
            ("line_id", ids[1].clone()),
            ("csrf_token", b.csrf.clone()),
        ]
    };
    let r = ana
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&form(&ana))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let r = buyer
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&[("line_id", ids[0].clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no CSRF token, no bulk approval");
    let r = buyer
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&form(&buyer))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/buyer/exceptions?bulk=2");
    let d: Value = ana.order(&order_id).await.json().await.unwrap();
    assert_eq!(d["lines"][0]["answer"], "ProposalAccepted");
    assert_eq!(d["lines"][1]["answer"], "ProposalAccepted");

    // The approved quantities reach Odoo, and reading them back is not a change by the
    // buyer after the supplier answered.
    let name = d["name"].as_str().unwrap().to_string();
    eventually("both quantities are in Odoo", || async {
        odoo_line(&app.double, &name, 0).0 == 1.0 && odoo_line(&app.double, &name, 1).0 == 1.0
    })
    .await;
    eventually("the portal has read them back", || async {
        let d: Value = ana.order(&order_id).await.json().await.unwrap();
        d["lines"][0]["quantity"] == "1" && d["lines"][1]["quantity"] == "1"
    })
    .await;
    let d: Value = ana.order(&order_id).await.json().await.unwrap();
    assert!(d["change_summary"].is_null(), "{}", d["change_summary"]);
    assert_ne!(d["status"], "ChangedInOdoo");
}

// ------------------------------------------------------------------ onboarding

/// Chooses a password through a reset or invitation link's token.
async fn choose_password(
    b: &Browser,
    token: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    b.post(
        "/api/password-reset/complete",
        &[
            ("token", token),
            ("password", password),
            ("confirm", confirm),
        ],
    )
    .await
}

/// The invitation link in the newest mail to `to`.
async fn invitation_token(app: &TestApp, to: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let link = body
        .lines()
        .find(|l| l.contains("/password-reset/"))
        .expect("a link in the invitation");
    link.trim().rsplit('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_links_a_vendor_and_its_invited_admin_sees_only_its_own_orders() {
    let app = spawn_app().await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;

    // Odoo's vendors by name; the three demo organisations are linked already.
    let r = admin.get("/api/admin/suppliers", &[("q", "azure")]).await;
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    let hit = &view["hits"][0];
    assert_eq!(hit["name"], "Azure Interior");
    assert!(hit["linked_supplier_id"].is_null());
    let r = admin.get("/api/admin/suppliers", &[("q", "gemini")]).await;
    let view: Value = r.json().await.unwrap();
    assert!(view["hits"][0]["linked_supplier_id"].is_i64());

    let r = admin
        .post("/api/admin/link-vendor", &[("partner_id", "13")])
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let (azure,): (i64,) = sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = 13")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Once per commercial partner: again, or through its contact person (23), is refused.
    for partner in ["13", "23"] {
        let r = admin
            .post("/api/admin/link-vendor", &[("partner_id", partner)])
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("linked already"));
    }

    // Settings: a clear message for nonsense, nothing stored; then stored.
    let settings = |ack: &'static str| {
        vec![
            ("supplier_id", azure.to_string()),
            ("ack_window_hours", ack.to_string()),
            ("date_tolerance_days", "3".to_string()),
            ("quantity_tolerance_percent", "7.5".to_string()),
            ("over_delivery_percent", String::new()),
        ]
    };
    let form = settings("soon");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = admin.post("/api/admin/supplier-settings", &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("acknowledgment window must be a whole number"));
    let form = settings("48");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = admin.post("/api/admin/supplier-settings", &fields).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let stored: (Option<i64>, Option<i64>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT ack_window_hours, date_tolerance_days, quantity_tolerance_percent, over_delivery_percent FROM suppliers WHERE id = $1",
    )
    .bind(azure)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, (Some(48), Some(3), Some("7.5".into()), None));

    // An invitation: no password until the link is used, once.
    let r = admin
        .post(
            "/api/team/invite",
            &[
                ("supplier", &azure.to_string()),
                ("email", "Zoe@Azure.example"),
                ("display_name", "Zoe Martin"),
                ("role", "supplier_admin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let mut zoe = Browser::open(&app.url).await;
    let r = zoe.sign_in("zoe@azure.example", "").await;
    assert!(!r.status().is_success());
    let token = invitation_token(&app, "zoe@azure.example").await;
    let (invitation,): (String,) =
        sqlx::query_as("SELECT body FROM mail_outbox WHERE to_address = 'zoe@azure.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(invitation.contains("for Azure Interior"), "{invitation}");
    let r = choose_password(&zoe, &token, "zoe-chose-this-one", "zoe-chose-this-one").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = choose_password(&zoe, &token, "zoe-chose-another", "zoe-chose-another").await;
    assert_eq!(r.status(), 422, "the link works once");
    let r = zoe.sign_in("zoe@azure.example", "zoe-chose-this-one").await;
    assert!(r.status().is_success() || r.status().is_redirection());

    // Azure's orders arrive (the link reset the cursor); nobody else's.
    let page = synced_orders(&zoe, 1).await;
    assert!(page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["supplier_name"] == "Azure Interior"));
    let (gemini_order,): (i64,) = sqlx::query_as(
        "SELECT o.id FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id WHERE s.odoo_partner_id = 10 LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(zoe.order(&gemini_order.to_string()).await.status(), 404);

    // Every step is in the audit log, with who did it.
    let r = admin
        .get(
            "/api/admin/audit",
            &[
                ("action", ""),
                ("actor", "admin@"),
                ("from", ""),
                ("to", ""),
            ],
        )
        .await;
    let entries: Value = r.json().await.unwrap();
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "supplier_linked",
        "supplier_settings_changed",
        "user_invited",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(entries
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "admin@millrace.example"));
    // Filters take `_` and `%` literally.
    let r = admin
        .get(
            "/api/admin/audit",
            &[
                ("action", "user_invited"),
                ("actor", ""),
                ("from", ""),
                ("to", ""),
            ],
        )
        .await;
    let entries: Value = r.json().await.unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["target"], "zoe@azure.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_admin_manages_its_own_organisation_only() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    let (gemini, wood): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT id FROM suppliers WHERE odoo_partner_id = 10), (SELECT id FROM suppliers WHERE odoo_partner_id = 11)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();

    // Not a staff role, and not into another organisation: the colleague lands in Gemini.
    let invite = |role: &'static str, email: &'static str, org: i64| {
        let ana = &ana;
        async move {
            ana.post(
                "/api/team/invite",
                &[
                    ("supplier", &org.to_string()),
                    ("email", email),
                    ("display_name", "New Colleague"),
                    ("role", role),
                ],
            )
            .await
        }
    };
    let r = invite("buyer", "eve@gemini.example", gemini).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("own organisation"));
    let r = invite("supplier_user", "max@gemini.example", wood).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (org,): (Option<i64>,) =
        sqlx::query_as("SELECT supplier_id FROM users WHERE email = 'max@gemini.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(org, Some(gemini));
    let r = invite("supplier_user", "max@gemini.example", gemini).await;
    assert_eq!(r.status(), 422, "the same address twice");
    let r = invite("supplier_user", "not-an-address", gemini).await;
    assert_eq!(r.status(), 422);

    // The team is Gemini's, whatever is asked for.
    let team: Value = ana
        .get("/api/team/list", &[("supplier", &wood.to_string())])
        .await
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"lea@gemini.example") && !emails.contains(&"tom@woodcorner.example"));

    // A supplier user manages nothing; nobody at a supplier reaches the admin functions.
    let r = lea
        .post(
            "/api/team/invite",
            &[
                ("supplier", ""),
                ("email", "x@gemini.example"),
                ("display_name", "X"),
                ("role", "supplier_user"),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        lea.get("/api/team/list", &[("supplier", "")])
            .await
            .status(),
        403
    );
    for path in ["/api/admin/suppliers", "/api/admin/audit"] {
        let r = ana
            .get(
                path,
                &[
                    ("q", ""),
                    ("action", ""),
                    ("actor", ""),
                    ("from", ""),
                    ("to", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    assert_eq!(
        buyer
            .get("/api/admin/suppliers", &[("q", "")])
            .await
            .status(),
        403
    );

    // Another organisation's user is out of reach; a colleague's session ends at once.
    let (tom,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'tom@woodcorner.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let r = ana
        .post(
            "/api/team/set-active",
            &[("user_id", &tom.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let (lea_id,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'lea@gemini.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lea.orders_page("", "").await.status(), 200);
    let r = ana
        .post(
            "/api/team/set-active",
            &[("user_id", &lea_id.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(lea.orders_page("", "").await.status(), 401);
    let mut lea_again = Browser::open(&app.url).await;
    let r = lea_again
        .sign_in("lea@gemini.example", "gemini-user-pass")
        .await;
    assert!(
        !r.status().is_success(),
        "a deactivated account cannot sign in"
    );
    let r = ana
        .post(
            "/api/team/set-active",
            &[("user_id", &lea_id.to_string()), ("active", "true")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = lea_again
        .sign_in("lea@gemini.example", "gemini-user-pass")
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "reactivated"
    );
}

// ------------------------------------------------------------------ performance

async fn performance(b: &Browser, supplier: String, from: &str) -> reqwest::Response {
    b.get(
        "/api/performance",
        &[("supplier", &supplier), ("from", from), ("to", "")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_is_every_supplier_for_buyers_and_only_its_own_for_a_supplier() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    acknowledge_first(&ana).await;
    let (wood,): (i64,) = sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = 11")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // Ana asks for Wood Corner's: she gets Gemini's, and only that.
    let r = performance(&ana, wood.to_string(), "").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let scores = v["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 1, "{v}");
    assert_eq!(scores[0]["name"], "Gemini Furniture");
    let card = &scores[0]["card"];
    assert!(
        card["acknowledged"]["hits"].as_u64().unwrap() >= 1,
        "{card}"
    );
    // The demo's oldest Gemini orders were received: delivered lines are scored.
    assert!(card["in_full"]["of"].as_u64().unwrap() > 0, "{card}");
    assert!(card["on_time"]["of"].as_u64().unwrap() > 0, "{card}");
    assert!(v["suppliers"].as_array().unwrap().is_empty());
    assert!(!v["months"].as_array().unwrap().is_empty());

    // A buyer sees every organisation with orders in the period, or the one chosen.
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let v: Value = performance(&buyer, String::new(), "")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = v["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gemini Furniture", "Ready Mat", "Wood Corner"]);
    let v: Value = performance(&buyer, wood.to_string(), "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["scores"].as_array().unwrap().len(), 1);
    assert_eq!(v["scores"][0]["name"], "Wood Corner");

    // A period in the future has nothing; a nonsense date gets a message.
    let r = performance(&buyer, String::new(), "2999-01-01").await;
    assert_eq!(r.status(), 422, "starts after it ends");
    let r = performance(&buyer, String::new(), "yesterday").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("must look like"));
}

// ------------------------------------------------------------------ ASN against receipt

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_differs_from_the_notice_shows_for_the_buyer_and_the_supplier() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let line = open_line(&ana, "lot").await;
    let line_id = line["line_id"].as_i64().unwrap();
    let order_id = line["order_id"].as_i64().unwrap();
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(line_id.to_string(), "2", "LOT-A")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (line_odoo,): (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(line_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    // The prefill reached the receipt; the warehouse books 1 of lot LOT-B and validates.
    let prefilled = |env: &mut millrace::odoo_double::Env| {
        let mv = *env
            .ids_where("stock.move", "purchase_line_id", &json!(line_odoo))
            .first()?;
        let ml = *env
            .ids_where("stock.move.line", "move_id", &json!(mv))
            .first()?;
        (env.value("stock.move.line", ml, "lot_name") == json!("LOT-A")).then(|| {
            (
                env.value("stock.move", mv, "picking_id").as_i64().unwrap(),
                ml,
            )
        })
    };
    eventually("the receipt is prefilled", || {
        let got = app.double.with_env(prefilled);
        async move { got.is_some() }
    })
    .await;
    app.double.with_env(|env| {
        let (picking, ml) = prefilled(env).unwrap();
        let admin = env.users[0].clone();
        let mut vals = serde_json::Map::new();
        vals.insert("vals".into(), json!({"quantity": 1.0, "lot_name": "LOT-B"}));
        env.execute(&admin, "stock.move.line", "write", Some(vec![ml]), vals)
            .unwrap();
        env.execute(
            &admin,
            "stock.picking",
            "button_validate",
            Some(vec![picking]),
            serde_json::Map::new(),
        )
        .unwrap();
    });

    // The buyer sees it among the exceptions; the supplier on its order, and in its history.
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let mut found = Value::Null;
    for _ in 0..100 {
        let v: Value = buyer
            .get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
            .await
            .json()
            .await
            .unwrap();
        found = v["discrepancies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["line_id"] == line_id)
            .cloned()
            .unwrap_or(Value::Null);
        if !found.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found["kind"], "short", "{found}");
    assert_eq!(found["detail"], "short: 2 announced, 1 received");
    let detail: Value = ana.order(&order_id.to_string()).await.json().await.unwrap();
    assert!(
        detail["discrepancies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["line_id"] == line_id && d["kind"] == "short"),
        "{}",
        detail["discrepancies"]
    );
    assert!(detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "discrepancy"
            && e["detail"]
                .as_str()
                .unwrap()
                .contains("short: 2 announced, 1 received")));
    let (lot,): (String,) =
        sqlx::query_as("SELECT lot_name FROM received_lots WHERE line_odoo_id = $1")
            .bind(line_odoo)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lot, "LOT-B", "the lot the warehouse booked is kept");
    let csv = buyer
        .get("/buyer/exceptions.csv", &[("supplier", ""), ("buyer", "")])
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("shipment vs receipt"), "{csv}");
}

// ------------------------------------------------------------------ notifications

/// Creates and confirms a purchase order in the double, as a buyer would in Odoo.
fn release_order_in_odoo(double: &RunningDouble, vendor: i64) -> String {
    double.with_env(|env| {
        let admin = env.users[0].clone();
        let planned = (chrono::Utc::now() + chrono::Duration::days(20))
            .format("%Y-%m-%d 08:00:00")
            .to_string();
        let mut params = serde_json::Map::new();
        params.insert(
            "vals_list".into(),
            json!([{"partner_id": vendor, "user_id": 2, "order_line": [[0, 0, {
                "product_id": 19, "product_qty": 4.0, "price_unit": 12.5, "date_planned": planned
            }]]}]),
        );
        let id = env
            .execute(&admin, "purchase.order", "create", None, params)
            .unwrap()[0]
            .as_i64()
            .unwrap();
        env.execute(
            &admin,
            "purchase.order",
            "button_confirm",
            Some(vec![id]),
            serde_json::Map::new(),
        )
        .unwrap();
        env.value("purchase.order", id, "name")
            .as_str()
            .unwrap()
            .to_string()
    })
}

/// Waits for a mail to `to` with `subject`; its body.
async fn mail_arrives(app: &TestApp, to: &str, subject: &str) -> String {
    eventually(&format!("a mail to {to}: {subject}"), || async {
        mails_to(app, to).await.iter().any(|(s, _)| s == subject)
    })
    .await;
    let mails = mails_to(app, to).await;
    mails
        .into_iter()
        .rev()
        .find(|(s, _)| s == subject)
        .unwrap()
        .1
}

async fn mails_to(app: &TestApp, to: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT subject, body FROM mail_outbox WHERE to_address = $1 ORDER BY id")
        .bind(to)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_and_changed_orders_are_mailed_to_the_suppliers_users_who_want_it() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    synced_orders(&ana, 1).await;
    // The first sync is history, not news: nobody was mailed about the demo's orders.
    assert!(mails_to(&app, "ana@gemini.example").await.is_empty());
    // Lea turns order mails off (an unticked checkbox is absent from the form).
    let r = lea.post("/api/account/notifications/update", &[]).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let prefs: Value = lea
        .get("/api/account/notifications", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prefs["order_mails"], false);

    let name = release_order_in_odoo(&app.double, 10);
    let body = mail_arrives(
        &app,
        "ana@gemini.example",
        &format!("New purchase order {name}"),
    )
    .await;
    assert!(body.contains("/orders/"), "a link to the order: {body}");
    assert!(mails_to(&app, "lea@gemini.example").await.is_empty());
    assert!(mails_to(&app, "tom@woodcorner.example").await.is_empty());

    // The buyer moves the line in Odoo: Ana hears of it too.
    app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let order = env.ids_where("purchase.order", "name", &json!(name))[0];
        let line = env.ids_where("purchase.order.line", "order_id", &json!(order))[0];
        let mut vals = serde_json::Map::new();
        vals.insert("vals".into(), json!({"product_qty": 6.0}));
        env.execute(
            &admin,
            "purchase.order.line",
            "write",
            Some(vec![line]),
            vals,
        )
        .unwrap();
    });
    eventually("Ana is told about the change", || {
        let (app, name) = (&app, &name);
        async move {
            mails_to(app, "ana@gemini.example")
                .await
                .iter()
                .any(|(subject, body)| {
                    subject == &format!("Purchase order {name} changed")
                        && body.contains("quantity 4 → 6")
                })
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exceptions_digest_goes_to_staff_who_want_it_once_per_period() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    let line_id = detail["lines"][0]["id"].as_i64().unwrap().to_string();
    let far = (chrono::Utc::now() + chrono::Duration::days(200))
        .date_naive()
        .to_string();
    let r = propose_date(&ana, &order_id, &line_id, &far, "furnace rebuild").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    let send = || {
        millrace::server::notify::send_digests(
            &app.db,
            millrace::server::exceptions::Windows {
                ack_hours: 24,
                planning_refresh_hours: 192,
            },
            "http://portal.example",
            chrono::Duration::hours(24),
            None,
        )
    };
    assert_eq!(send().await.unwrap(), 2, "the buyer and the admin");
    let (subject, body) = mails_to(&app, "buyer@millrace.example")
        .await
        .pop()
        .unwrap();
    assert!(
        subject.contains("exceptions need the purchasing team"),
        "{subject}"
    );
    assert!(body.contains("Proposals awaiting a decision (1)"), "{body}");
    assert!(
        body.contains("furnace") || body.contains(detail["name"].as_str().unwrap()),
        "{body}"
    );
    assert!(body.contains("http://portal.example/buyer/exceptions"));
    assert_eq!(send().await.unwrap(), 0, "once per period");

    // The buyer asks for it now; a supplier cannot.
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let r = buyer.post("/api/account/digest-now", &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("on its way"));
    assert_eq!(mails_to(&app, "buyer@millrace.example").await.len(), 2);
    assert_eq!(ana.post("/api/account/digest-now", &[]).await.status(), 403);

    // Turned off, it stops (the admin still gets it).
    let r = buyer.post("/api/account/notifications/update", &[]).await;
    assert_eq!(r.status(), 200);
    sqlx::query("UPDATE users SET digest_sent_at = NULL")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(send().await.unwrap(), 1);
    assert_eq!(mails_to(&app, "buyer@millrace.example").await.len(), 2);
}

async fn apply(b: &Browser, form: Vec<(&'static str, String)>) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/api/admin/odoo/apply", &fields).await
}

/// Proposes a new date for a line (within or outside tolerance).
async fn propose_date(
    b: &Browser,
    order_id: &str,
    line_id: &str,
    date: &str,
    reason: &str,
) -> reqwest::Response {
    b.post(
        "/api/orders/answer-line",
        &[
            ("order_id", order_id),
            ("line_id", line_id),
            ("answer", "propose"),
            ("proposed_date", date),
            ("reason", reason),
        ],
    )
    .await
}

/// Acknowledges the supplier's first order; returns its name.
async fn acknowledge_first(b: &Browser) -> String {
    let page = synced_orders(b, 1).await;
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    let r = b
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 200);
    page["orders"][0]["name"].as_str().unwrap().to_string()
}

/// The double as an Odoo user managing their API keys (Preferences → Account Security).
fn odoo_api_key(double: &RunningDouble, add: Option<&str>, revoke: Option<&str>) {
    double.with_env(|env| {
        let user = &mut env.users[0];
        if let Some(k) = add {
            user.api_keys.push(k.to_string());
        }
        if let Some(k) = revoke {
            user.api_keys.retain(|x| x != k);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_rotates_the_odoo_api_key_on_the_page_and_deliveries_go_on() {
    use millrace::server::secrets::SealingKeys;
    let server_key = SealingKeys::generate();
    let sealing = SealingKeys::parse(&server_key, &[]).unwrap();
    let app = spawn_app_with(|s| s.sealing = Some(sealing.clone())).await;
    let old_key = app.double.config.api_key.clone();
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let form = |key: &'static str, intent: &'static str, url: String| {
        vec![
            ("url", url),
            ("database", "mfg".to_string()),
            ("login", "admin".to_string()),
            ("api_key", key.to_string()),
            ("intent", intent.to_string()),
        ]
    };

    // Nobody but an admin reads or changes the connection.
    for b in [&ana, &buyer] {
        assert_eq!(b.get("/api/admin/odoo", &[]).await.status(), 403);
        let r = apply(b, form("x", "save", app.double.url.clone())).await;
        assert_eq!(r.status(), 403);
    }
    let view: Value = admin
        .get("/api/admin/odoo", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["source"], "Environment");
    assert_eq!(view["running_revision"], 0);
    assert!(
        view["connected"].as_str().unwrap().starts_with("Odoo 19"),
        "{view}"
    );
    assert!(
        !view.to_string().contains(&old_key),
        "the key is never shown back"
    );

    // Wrong input and wrong keys: a message to act on, nothing stored.
    let r = apply(
        &admin,
        form("new-key-2", "save", "ftp://odoo.example".into()),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("must start with https://"));
    let r = apply(&admin, form("not-a-key", "test", app.double.url.clone())).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Odoo refused login 'admin' with this API key: check the login and the API key"));
    let r = apply(&admin, form("not-a-key", "save", app.double.url.clone())).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("{\"Invalid\":\"Not saved: "));
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM odoo_connection")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.0, 0);

    // Rotation: a second key in Odoo, tested, saved here, then the first revoked in Odoo.
    odoo_api_key(&app.double, Some("new-key-2"), None);
    let r = apply(&admin, form("new-key-2", "test", app.double.url.clone())).await;
    assert_eq!(r.status(), 200);
    let tested: Value = r.json().await.unwrap();
    assert!(tested["saved_revision"].is_null());
    assert!(tested["lines"][0]
        .as_str()
        .unwrap()
        .starts_with("server: Odoo 19"));
    let r = apply(
        &admin,
        form("new-key-2", "save", format!("{}/", app.double.url)),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["saved_revision"], 1);
    odoo_api_key(&app.double, None, Some(&old_key));

    // Stored sealed: no column holds the key, nor does the audit log.
    let row: (String, String, String, String, String, i64) = sqlx::query_as(
        "SELECT url, login, key_id, api_key_nonce, api_key_sealed, revision FROM odoo_connection",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.0, app.double.url, "the trailing slash is dropped");
    assert!(![&row.2, &row.3, &row.4]
        .iter()
        .any(|c| c.contains("new-key-2")));
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, detail FROM audit_log WHERE action LIKE 'odoo_connection%' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "odoo_connection_tested",
            "odoo_connection_refused",
            "odoo_connection_tested",
            "odoo_connection_saved"
        ]
    );
    assert!(audit[3].1.contains("API key replaced"), "{audit:?}");
    assert!(!audit
        .iter()
        .any(|(_, d)| d.contains("new-key-2") || d.contains(&old_key)));

    // The running worker uses the new key: an acknowledgment reaches Odoo, the old key revoked.
    let name = acknowledge_first(&ana).await;
    eventually("acknowledged in Odoo with the new key", || {
        let (_, acknowledged, _) = odoo_order(&app.double, &name);
        async move { acknowledged }
    })
    .await;
    let view: Value = admin
        .get("/api/admin/odoo", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["source"], "AdminPage");
    assert_eq!(
        (view["revision"].clone(), view["running_revision"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(view["saved_by"], "admin@millrace.example");

    // Every instance reports the revision it runs on (here, one).
    eventually("this instance is listed on revision 1", || async {
        let v: Value = admin
            .get("/api/admin/odoo", &[])
            .await
            .json()
            .await
            .unwrap();
        v["instances"]
            .as_array()
            .is_some_and(|i| i.len() == 1 && i[0]["this"] == true && i[0]["revision"] == 1)
    })
    .await;

    // The key in use is never sent elsewhere: another URL wants the key typed again.
    let r = apply(&admin, form("", "test", "http://127.0.0.1:9".into())).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Type the API key again"));
    // Another Odoo database (the same key works there) is refused: the portal's orders
    // are not in it.
    let other = common::start_double(19, Seed::Empty).await;
    odoo_api_key(&other, Some("new-key-2"), None);
    let r = apply(&admin, form("new-key-2", "save", other.url.clone())).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("it looks like another database"));

    // Saving with the key left empty keeps it.
    let r = apply(&admin, form("", "save", app.double.url.clone())).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let audit: (String,) = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'odoo_connection_saved' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        audit.0.starts_with("revision 2: API key kept"),
        "{}",
        audit.0
    );

    // Another instance, started with the environment's (now revoked) key, uses what was
    // saved; without the server key it says what is missing instead of guessing.
    let mut other = Settings::for_tests();
    other.odoo = Some(common::odoo_settings(&app.double, TransportChoice::Auto));
    other.sealing = Some(SealingKeys::parse(&server_key, &[]).unwrap());
    let (wanted, revision) = millrace::server::connection::wanted(&app.db, &other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((wanted.api_key.expose(), revision), ("new-key-2", 2));
    other.sealing = None;
    let e = millrace::server::connection::wanted(&app.db, &other)
        .await
        .unwrap_err();
    assert!(e.contains("MILLRACE_SECRET_KEY"), "{e}");
    // After a server key rotation the stored key opens with the previous key.
    let next = SealingKeys::generate();
    other.sealing = Some(SealingKeys::parse(&next, &[&server_key]).unwrap());
    let (wanted, _) = millrace::server::connection::wanted(&app.db, &other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wanted.api_key.expose(), "new-key-2");
}

async fn resolve(b: &Browser, key: &str, resolution: &str) -> reqwest::Response {
    b.post(
        "/api/buyer/resolve-conflict",
        &[("key", key), ("resolution", resolution)],
    )
    .await
}

/// Posts `form` to `path`; the status code.
async fn send(b: &Browser, path: &str, form: Vec<(&'static str, String)>) -> u16 {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &fields).await.status().as_u16()
}

/// The buyer edits line `index` of `name` in Odoo (in a later second than the last sync).
async fn edit_line_in_odoo(double: &RunningDouble, name: &str, index: usize, vals: Value) {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = reqwest::Client::new()
        .post(format!(
            "{}/__double/purchase.order/{name}/lines/{index}",
            double.url
        ))
        .json(&vals)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

fn odoo_line(double: &RunningDouble, name: &str, index: usize) -> (f64, String) {
    double.with_env(|env| {
        let po = env.ids_where("purchase.order", "name", &json!(name))[0];
        let mut lines = env.ids_where("purchase.order.line", "order_id", &json!(po));
        lines.sort_unstable();
        let l = lines[index];
        (
            env.value("purchase.order.line", l, "product_qty")
                .as_f64()
                .unwrap(),
            env.value("purchase.order.line", l, "date_planned")
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    })
}

struct WriteBackConflict {
    order_id: String,
    name: String,
    /// The date the supplier proposed (within tolerance).
    inside: String,
    /// The quantity ordered before the buyer changed it to 5 more.
    ordered: f64,
}

/// Ana moves the first line's date of her first order while Odoo is down, and the buyer
/// raises its quantity in Odoo meanwhile: the write-back will meet the change.
async fn write_back_conflict(app: &TestApp, ana: &Browser) -> WriteBackConflict {
    let page = synced_orders(ana, 1).await;
    let order = &page["orders"][0];
    let (order_id, name) = (
        order["id"].as_i64().unwrap().to_string(),
        order["name"].as_str().unwrap().to_string(),
    );
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    let line = &detail["lines"][0];
    let line_id = line["id"].as_i64().unwrap().to_string();
    let requested = chrono::NaiveDate::parse_from_str(
        &line["date_planned"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    let inside = (requested + chrono::Duration::days(2)).to_string();
    let (ordered, _) = odoo_line(&app.double, &name, 0);
    app.double.set_faults(Faults {
        down: true,
        ..Default::default()
    });
    let r = propose_date(ana, &order_id, &line_id, &inside, "furnace maintenance").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    eventually("a first delivery attempt failed", || async {
        let a: Option<(i64,)> = sqlx::query_as("SELECT attempts FROM outbox_messages")
            .fetch_optional(&app.db)
            .await
            .unwrap();
        a.is_some_and(|(a,)| a >= 1)
    })
    .await;
    edit_line_in_odoo(&app.double, &name, 0, json!({"product_qty": ordered + 5.0})).await;
    app.double.set_faults(Faults::default());
    WriteBackConflict {
        order_id,
        name,
        inside,
        ordered,
    }
}

/// The buyer's open conflicts.
async fn conflicts_of(buyer: &Browser) -> Vec<Value> {
    let x: Value = buyer
        .get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await
        .json()
        .await
        .unwrap();
    x["conflicts"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_odoos_version_asks_the_supplier_to_answer_the_line_and_acknowledge_again() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let c = write_back_conflict(&app, &ana).await;
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &c.order_id)])
            .await
            .status(),
        200
    );
    eventually("the write-back conflict shows", || async {
        conflicts_of(&buyer)
            .await
            .iter()
            .any(|x| x["kind"] == "write_back")
    })
    .await;
    let key = conflicts_of(&buyer)
        .await
        .into_iter()
        .find(|x| x["kind"] == "write_back")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(resolve(&buyer, &key, "ask_again").await.status(), 200);
    // Odoo keeps the buyer's line; the supplier answers the line and acknowledges again.
    let (q, d) = odoo_line(&app.double, &c.name, 0);
    assert_eq!(q, c.ordered + 5.0);
    assert!(!d.starts_with(&c.inside));
    let detail: Value = ana.order(&c.order_id).await.json().await.unwrap();
    assert!(detail["lines"][0]["answer"].is_null());
    assert!(detail["acknowledged_at"].is_null());
    mail_arrives(
        &app,
        "ana@gemini.example",
        &format!("Please answer purchase order {} again", c.name),
    )
    .await;
    let messages: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, status FROM outbox_messages ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        messages[0],
        ("update_line".to_string(), "discarded".to_string()),
        "{messages:?}"
    );
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &c.order_id)])
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_shows_both_versions_and_the_buyer_applies_the_answer_or_asks_again() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let WriteBackConflict {
        order_id,
        name,
        inside,
        ordered,
    } = write_back_conflict(&app, &ana).await;

    // The write-back meets the change; the poller sees the order changed after the answer.
    let conflicts = || conflicts_of(&buyer);
    eventually("both conflicts show", || async {
        let c = conflicts().await;
        c.iter().any(|c| c["kind"] == "write_back")
            && c.iter().any(|c| c["kind"] == "changed_in_odoo")
    })
    .await;
    let all = conflicts().await;
    let write_back = all.iter().find(|c| c["kind"] == "write_back").unwrap();
    assert_eq!(write_back["order_name"], name.as_str());
    assert_eq!(write_back["can_apply"], true);
    let side = &write_back["lines"][0];
    let more = format!("{}", ordered + 5.0);
    assert!(
        side["supplier"].as_str().unwrap().contains(&inside),
        "{side}"
    );
    assert!(
        side["supplier"]
            .as_str()
            .unwrap()
            .contains(&format!("answered against {ordered}")),
        "{side}"
    );
    assert!(side["odoo"].as_str().unwrap().starts_with(&more), "{side}");
    let changed = all.iter().find(|c| c["kind"] == "changed_in_odoo").unwrap();
    assert!(
        changed["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("{ordered} → {more}")),
        "{changed}"
    );
    assert_eq!(
        changed["lines"][0]["odoo"]
            .as_str()
            .unwrap()
            .split(' ')
            .next(),
        Some(more.as_str())
    );
    let csv = buyer
        .get("/buyer/exceptions.csv", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("conflict,"), "{csv}");

    // A supplier cannot resolve; nonsense gets a message.
    let key = write_back["key"].as_str().unwrap().to_string();
    let r = resolve(&ana, &key, "apply").await;
    assert_eq!(r.status(), 403);
    let r = resolve(&buyer, &key, "maybe").await;
    assert_eq!(r.status(), 422);
    let r = resolve(&buyer, &key, "keep_answers").await;
    assert_eq!(r.status(), 422, "a write-back is applied or Odoo's kept");

    // Applied over Odoo's version: the new date lands, the buyer's quantity stays.
    let r = resolve(&buyer, &key, "apply").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    eventually("the supplier's date is in Odoo", || async {
        let (q, d) = odoo_line(&app.double, &name, 0);
        q == ordered + 5.0 && d.starts_with(&inside)
    })
    .await;
    let r = resolve(&buyer, &key, "apply").await;
    assert_eq!(r.status(), 404, "resolved once");
    // The same message went (no second one), its correlation id in Odoo's chatter.
    let reference = write_back["reference"].as_str().unwrap().to_string();
    // Odoo holds the date before the worker records the delivery: wait for the record.
    let mut messages: Vec<(String, String)> = Vec::new();
    for _ in 0..100 {
        messages = sqlx::query_as("SELECT correlation_id, status FROM outbox_messages ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
        if messages.iter().all(|m| m.1 == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(messages, [(reference.clone(), "delivered".to_string())]);
    let (_, _, notes) = odoo_order(&app.double, &name);
    assert!(notes.iter().any(|n| n.contains(&reference)), "{notes:?}");

    // The changed order: the buyer asks the supplier again; the supplier is mailed and
    // the line waits for a new answer.
    let key = changed["key"].as_str().unwrap().to_string();
    let r = resolve(&buyer, &key, "ask_again").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let d: Value = ana.order(&order_id).await.json().await.unwrap();
    assert!(d["lines"][0]["answer"].is_null(), "{}", d["lines"][0]);
    assert!(d["acknowledged_at"].is_null());
    assert_eq!(
        d["status"], "New",
        "it waits for the supplier as a new order would"
    );
    // Resolved once: no longer listed, and a second click cannot clear newer answers.
    assert!(conflicts()
        .await
        .iter()
        .all(|c| c["order_name"] != name.as_str()));
    assert_eq!(resolve(&buyer, &key, "ask_again").await.status(), 404);
    assert!(mails_to(&app, "ana@gemini.example")
        .await
        .iter()
        .any(|(subject, _)| subject == &format!("Please answer purchase order {name} again")));
    let history: Vec<(String,)> = sqlx::query_as(
        "SELECT e.detail FROM order_events e WHERE e.order_id = $1 AND e.kind = 'conflict_resolved' ORDER BY e.id",
    )
    .bind(order_id.parse::<i64>().unwrap())
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].0.starts_with("applied the supplier's answer"));
    // The timeline: the buyer sees every failed attempt while Odoo was down, each event
    // in its thread; the supplier sees its part, without Odoo's errors.
    let kinds = |d: &Value| -> Vec<(String, String)> {
        d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_string(),
                    e["group"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let staff: Value = buyer.order(&order_id).await.json().await.unwrap();
    let staff = kinds(&staff);
    assert!(
        staff.contains(&("delivery_failed".into(), "delivery".into())),
        "{staff:?}"
    );
    assert!(
        staff.contains(&("conflict".into(), "delivery".into())),
        "{staff:?}"
    );
    assert!(
        staff.contains(&("conflict_resolved".into(), "buyer".into())),
        "{staff:?}"
    );
    assert!(
        staff.contains(&("changed_in_odoo".into(), "odoo".into())),
        "{staff:?}"
    );
    let own: Value = ana.order(&order_id).await.json().await.unwrap();
    let own = kinds(&own);
    assert!(!own.iter().any(|(k, _)| k == "delivery_failed"), "{own:?}");
    assert!(
        own.contains(&("conflict_resolved".into(), "buyer".into())),
        "{own:?}"
    );
    assert!(
        own.contains(&("line_answered".into(), "supplier".into())),
        "{own:?}"
    );
    assert!(history[1]
        .0
        .starts_with("asked the supplier to answer every line again"));
    // Nothing left to resolve for this order once the supplier acknowledges again.
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &order_id)])
            .await
            .status(),
        200
    );
    assert!(conflicts()
        .await
        .iter()
        .all(|c| c["order_name"] != name.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_turns_order_mail_off_or_copies_it_to_its_shared_mailbox() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    synced_orders(&ana, 1).await;
    let (gemini, wood): (i64, i64) = {
        let id = |partner: i64| {
            let db = app.db.clone();
            async move {
                let (id,): (i64,) =
                    sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = $1")
                        .bind(partner)
                        .fetch_one(&db)
                        .await
                        .unwrap();
                id
            }
        };
        (id(10).await, id(11).await)
    };
    let team: Value = ana
        .get("/api/team/list", &[("supplier", "")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(team["mail"], json!({"notify_orders": true, "copy_to": ""}));

    // A supplier user may not; a bad address gets a message; another organisation's id
    // still means the supplier admin's own.
    let form = |on: bool, copy: &'static str, supplier: i64| {
        let mut f = vec![
            ("supplier", supplier.to_string()),
            ("copy_to", copy.to_string()),
        ];
        if on {
            f.push(("notify_orders", "on".to_string()));
        }
        f
    };
    assert_eq!(
        send(&lea, "/api/team/mail", form(false, "", gemini)).await,
        403
    );
    assert_eq!(
        send(
            &ana,
            "/api/team/mail",
            form(true, "orders at gemini", gemini)
        )
        .await,
        422
    );
    assert_eq!(
        send(
            &ana,
            "/api/team/mail",
            form(true, "Orders@Gemini.example", wood)
        )
        .await,
        200
    );
    let stored: Vec<(i64, i64, Option<String>)> =
        sqlx::query_as("SELECT id, notify_orders, order_mail_copy_to FROM suppliers WHERE id IN ($1, $2) ORDER BY id")
            .bind(gemini)
            .bind(wood)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(
        stored.contains(&(gemini, 1, Some("orders@gemini.example".into()))),
        "{stored:?}"
    );
    assert!(stored.contains(&(wood, 1, None)), "{stored:?}");

    // A released order: Ana, and the shared mailbox once.
    let name = release_order_in_odoo(&app.double, 10);
    let copy = mail_arrives(
        &app,
        "orders@gemini.example",
        &format!("New purchase order {name}"),
    )
    .await;
    assert!(copy.starts_with("Hello Gemini Furniture"), "{copy}");
    assert!(copy.contains("shared mailbox"), "{copy}");
    assert_eq!(mails_to(&app, "ana@gemini.example").await.len(), 1);

    // Order mail off for the organisation: nobody is mailed about the next one.
    assert_eq!(
        send(
            &ana,
            "/api/team/mail",
            form(false, "orders@gemini.example", gemini)
        )
        .await,
        200
    );
    let next = release_order_in_odoo(&app.double, 10);
    eventually("the next order is in the portal", || {
        let (ana, next) = (&ana, &next);
        async move { ana.orders(next).await["total"].as_i64() == Some(1) }
    })
    .await;
    assert_eq!(mails_to(&app, "ana@gemini.example").await.len(), 1);
    assert_eq!(mails_to(&app, "orders@gemini.example").await.len(), 1);
    // Each user is told why their own setting does nothing now.
    let prefs: Value = lea
        .get("/api/account/notifications", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prefs["organisation_off"], true);
    let audit: Vec<(String,)> = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'organisation_mail_changed' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        audit.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(),
        [
            "order mails on; copy to orders@gemini.example",
            "order mails off; copy to orders@gemini.example"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_serves_while_odoo_is_unreachable_and_an_admin_fixes_the_url_without_a_restart()
{
    use millrace::server::secrets::SealingKeys;
    let sealing = SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap();
    // MILLRACE_ODOO_URL points at nothing.
    let app = spawn_app_unsynced(|s| {
        s.sealing = Some(sealing.clone());
        if let Some(o) = s.odoo.as_mut() {
            o.url = "http://127.0.0.1:9".into();
        }
    })
    .await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    assert_eq!(ana.orders("").await["total"], 0);
    eventually("the admin page says why", || async {
        let v: Value = admin
            .get("/api/admin/odoo", &[])
            .await
            .json()
            .await
            .unwrap();
        v["connected"].is_null()
            && v["problem"].as_str().is_some_and(|p| {
                p.contains("cannot reach http://127.0.0.1:9")
                    && p.contains("check MILLRACE_ODOO_URL")
            })
    })
    .await;
    let ready: Value = reqwest::get(format!("{}/readyz", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["odoo_connection"]["configured"], true, "{ready}");
    // Readiness says there is a problem, not what it is (the page is for admins).
    assert_eq!(ready["odoo_connection"]["problem"], true, "{ready}");
    assert_eq!(ready["odoo_connection"]["current"], false, "{ready}");

    // The right URL, with the key typed again: saved, connected, synced; no restart.
    let key = app.double.config.api_key.clone();
    let form = vec![
        ("url", app.double.url.clone()),
        ("database", "mfg".to_string()),
        ("login", "admin".to_string()),
        ("api_key", key),
        ("intent", "save".to_string()),
    ];
    let r = apply(&admin, form).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    synced_orders(&ana, 1).await;
    let v: Value = admin
        .get("/api/admin/odoo", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(v["problem"].is_null(), "{v}");
    assert_eq!(v["running_revision"], 1);
}

/// Asks the poller to poll now (the webhook), as Odoo would after a change.
async fn poke_poller(app: &TestApp) {
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let r = http
            .post(format!("{}/hooks/odoo/hook-secret-123", app.url))
            .json(&json!({"_model": "purchase.order"}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await; // rate limited
    }
    panic!("the webhook never took the poke");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portals_own_write_read_back_is_no_change_by_the_buyer_whatever_became_of_the_answer() {
    // Polls only when poked: the order of events below is the test's.
    let app = spawn_app_with(|s| {
        s.poll_interval = Duration::from_secs(3600);
        s.webhook_token = Some(millrace::server::settings::Secret::new("hook-secret-123"));
    })
    .await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page["orders"][0]["id"].as_i64().unwrap().to_string();
    let name = page["orders"][0]["name"].as_str().unwrap().to_string();
    let detail: Value = ana.order(&order_id).await.json().await.unwrap();
    let line = &detail["lines"][0];
    let requested = chrono::NaiveDate::parse_from_str(
        &line["date_planned"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    let inside = (requested + chrono::Duration::days(1)).to_string();
    let line_id = line["id"].as_i64().unwrap().to_string();
    // The supplier moves the date within tolerance: the portal writes it to Odoo.
    let r = propose_date(&ana, &order_id, &line_id, &inside, "changeover").await;
    assert_eq!(r.status(), 200);
    eventually("the date is in Odoo", || async {
        odoo_line(&app.double, &name, 0).1.starts_with(&inside)
    })
    .await;
    // Then accepts the line as it now stands (the proposal is gone), before any poll.
    let r = ana
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &order_id),
                ("line_id", &line_id),
                ("answer", "accept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    // The poller reads the portal's own write back: not the buyer's change.
    poke_poller(&app).await;
    eventually("the poller has read the new date", || async {
        let d: Value = ana.order(&order_id).await.json().await.unwrap();
        d["lines"][0]["date_planned"]
            .as_str()
            .is_some_and(|d| d.starts_with(&inside))
    })
    .await;
    let d: Value = ana.order(&order_id).await.json().await.unwrap();
    assert!(d["change_summary"].is_null(), "{}", d["change_summary"]);
    assert_ne!(d["status"], "ChangedInOdoo");
}

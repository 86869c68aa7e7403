//! Black-box tests: the real app on port 0 with a fresh SQLite file, the Odoo double on
//! port 0, talked to over HTTP like a browser would (cookies, CSRF token, form posts).
//! One module per area under `tests/portal/`; the helpers they share are here.

use std::sync::Arc;
use std::time::Duration;

#[path = "portal/accounts.rs"]
mod accounts;
#[path = "portal/answers.rs"]
mod answers;
#[path = "portal/audit.rs"]
mod audit;
#[path = "portal/bounded_reads.rs"]
mod bounded_reads;
mod common;
#[path = "portal/conflicts.rs"]
mod conflicts;
#[path = "portal/counts.rs"]
mod counts;
#[path = "portal/delivery.rs"]
mod delivery;
#[path = "portal/errors.rs"]
mod errors;
#[path = "portal/forms.rs"]
mod forms;
#[path = "portal/http_surface.rs"]
mod http_surface;
#[path = "portal/mail.rs"]
mod mail;
#[path = "portal/notifications.rs"]
mod notifications;
#[path = "portal/onboarding.rs"]
mod onboarding;
#[path = "portal/performance.rs"]
mod performance;
#[path = "portal/sessions.rs"]
mod sessions;
#[path = "portal/shipment_rules.rs"]
mod shipment_rules;
#[path = "portal/shipments.rs"]
mod shipments;
#[path = "portal/sync.rs"]
mod sync;

use chrono::TimeZone;
use common::Browser;
use millrace::api::orders::OrderPage;
use millrace::model::exceptions::{Conflict, ExceptionsView};
use millrace::model::shipments::{OpenLine, ShipmentSummary};
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

/// The supplier's first page of orders once the poller has stored at least `min` (30 s at
/// most: on PostgreSQL, with every suite's tests sharing CI's two cores, a first sync after
/// a vendor is linked took longer than the 10 s this allowed before).
async fn synced_orders(b: &Browser, min: i64) -> OrderPage {
    let mut page = None;
    for _ in 0..300 {
        let answer = b.order_page("").await;
        if answer.total >= min {
            return answer;
        }
        page = Some(answer);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("orders never synced from the double; the last answer: {page:?}");
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

/// The first of the supplier's open lines with this tracking (`none`, `lot`, `serial`).
async fn open_line(b: &Browser, tracking: &str) -> OpenLine {
    let lines: Vec<OpenLine> = b
        .json_as("/api/shipments/open-lines", &[("orders", "")])
        .await;
    lines
        .into_iter()
        .find(|l| l.tracking == tracking)
        .unwrap_or_else(|| panic!("an open line tracked by {tracking}"))
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

/// Announces one unit of the supplier's first untracked open line; that line and the notice's id.
async fn one_line_notice(b: &Browser) -> (OpenLine, i64) {
    synced_orders(b, 1).await;
    let line = open_line(b, "none").await;
    let r = b
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(line.line_id.to_string(), "1", "")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let notice = b
        .json_as::<Vec<ShipmentSummary>>("/api/shipments/list", &[])
        .await[0]
        .id;
    (line, notice)
}

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
    let order_id = page.orders[0].id.to_string();
    let r = b
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 200);
    page.orders[0].name.clone()
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
    let order = &page.orders[0];
    let (order_id, name) = (order.id.to_string(), order.name.clone());
    let detail = ana.order_detail(&order_id).await;
    let line = &detail.lines[0];
    let line_id = line.id.to_string();
    let requested =
        chrono::NaiveDate::parse_from_str(&line.date_planned.as_deref().unwrap()[..10], "%Y-%m-%d")
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
async fn conflicts_of(buyer: &Browser) -> Vec<Conflict> {
    let x: ExceptionsView = buyer
        .json_as("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    x.conflicts
}

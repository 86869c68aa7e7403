//! Black-box tests of the event feed and outbound webhooks (issue 15): events written with
//! their change, delivered to each organisation's receivers and no one else's, signed so
//! that the Standard Webhooks reference library (PyPI `standardwebhooks`, run by
//! `tests/webhooks/verify.py`) accepts them and refuses tampered or replayed ones; a receiver
//! that fails gets every event once, in order per order, after it recovers (paused, its
//! owner mailed, resumed); dead letters sent again; the pull feed. SQLite by default,
//! PostgreSQL with `MILLRACE_TEST_DATABASE=postgres`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::app::{eventually, spawn_with, TestApp};
use common::machine::{token, Machine};
use common::Browser;
use millrace::odoo_double::{DoubleConfig, Modules};
use millrace::server::secrets::SealingKeys;
use millrace::server::settings::Settings;
use millrace::server::webhooks::sign;
use serde_json::{json, Value};

const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");
const LEA: (&str, &str) = ("lea@gemini.example", "gemini-user-pass");
const TOM: (&str, &str) = ("tom@woodcorner.example", "woodcorner-demo-pass");
const BUYER: (&str, &str) = ("buyer@millrace.example", "buyer-demo-pass");
const ADMIN: (&str, &str) = ("admin@millrace.example", "admin-demo-pass");

async fn app(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_with(
        DoubleConfig {
            version: 19,
            modules: Some(Modules::PURCHASE_STOCK_DELIVERY),
            ..Default::default()
        },
        |s| {
            s.sealing = Some(SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap());
            s.webhook_allow_private = true;
            s.outbox_retry_cap = Duration::from_secs(1);
            adjust(s);
        },
    )
    .await
}

/// One POST a receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn headers(&self) -> Value {
        json!({
            "webhook-id": self.id,
            "webhook-timestamp": self.timestamp,
            "webhook-signature": self.signature,
        })
    }
}

/// A webhook receiver on port 0 that records what it gets and answers 200, or 503 while
/// failing.
#[derive(Clone, Default)]
struct Receiver {
    failing: Arc<Mutex<bool>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let failing = *state.failing.lock().unwrap();
                    let answered = if failing {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    };
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    state.got.lock().unwrap().push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body,
                        answered: answered.as_u16(),
                    });
                    answered
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn fail(&self, failing: bool) {
        *self.failing.lock().unwrap() = failing;
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// What was answered 200, in the order it arrived.
    fn delivered(&self) -> Vec<Received> {
        self.got()
            .into_iter()
            .filter(|r| r.answered == 200)
            .collect()
    }
}

/// Verifies messages with the reference library; "valid" or "invalid: ..." for each.
fn verify(messages: &[(String, String, Value)]) -> Vec<String> {
    use std::io::Write;
    let python = std::env::var("MILLRACE_WEBHOOK_VERIFIER").unwrap_or_else(|_| {
        format!(
            "{}/.tools/standardwebhooks/bin/python",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let input: Vec<Value> = messages
        .iter()
        .map(|(secret, body, headers)| json!({"secret": secret, "body": body, "headers": headers}))
        .collect();
    let mut child = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/verify.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} ({e}): install the verifier with `bash scripts/setup.sh --with-webhook-verifier`")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the verifier failed (is standardwebhooks installed for {python}?)"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A subscriber created on the webhooks page; its secret.
async fn subscribe(owner: &Browser, name: &str, url: &str, types: &[&str]) -> String {
    let mut form = vec![("name", name), ("url", url), ("idempotency_key", "")];
    form.extend(types.iter().map(|t| (*t, "on")));
    let r = owner.post("/api/webhooks/create", &form).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let created: Value = r.json().await.unwrap();
    created["secret"].as_str().unwrap().to_string()
}

/// The owner's subscribers as the page lists them.
async fn subscribers(owner: &Browser) -> Vec<Value> {
    owner.json("/api/webhooks/list", &[]).await["subscriptions"]
        .as_array()
        .unwrap()
        .clone()
}

async fn act(owner: &Browser, id: i64, action: &str) -> reqwest::Response {
    owner
        .post(
            "/api/webhooks/act",
            &[
                ("subscription_id", &id.to_string()),
                ("action", action),
                ("idempotency_key", ""),
            ],
        )
        .await
}

/// The ids of the supplier's orders still waiting for an answer, from the API.
async fn new_orders(m: &Machine) -> Vec<i64> {
    let (status, page) = m.get("/orders?limit=200").await;
    assert_eq!(status, 200, "{page}");
    let mut ids = Vec::new();
    for o in page["orders"].as_array().unwrap() {
        if o["status"] == "new" {
            ids.push(o["id"].as_i64().unwrap());
        }
    }
    ids
}

/// Accepts each line of order `id` (the last answer acknowledges the order), then
/// acknowledges it again (already done: no event): one event per line, and one more.
async fn work(m: &Machine, id: i64) -> usize {
    let (status, order) = m.get(&format!("/orders/{id}")).await;
    assert_eq!(status, 200, "{order}");
    let lines: Vec<i64> = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["removed"] == false)
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    for line in &lines {
        let r = m
            .post(
                &format!("/orders/{id}/lines/{line}/answer"),
                Some(&format!("answer-{line}")),
                json!({"answer": "accept"}),
            )
            .await;
        assert_eq!(r.0, 200, "{}", r.1);
    }
    let ack = m
        .post(
            &format!("/orders/{id}/acknowledge"),
            Some(&format!("ack-{id}")),
            json!({}),
        )
        .await;
    assert_eq!((ack.0, &ack.1["already"]), (200, &json!(true)), "{}", ack.1);
    lines.len() + 1
}

fn order_of(r: &Received) -> Option<i64> {
    r.json()["data"]["order"]["id"].as_i64()
}

fn number(id: &str) -> i64 {
    id.trim_start_matches("evt_").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_only_their_organisation_signed_as_the_reference_library_verifies() {
    let app = app(|_| {}).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let tom = app.signed_in(TOM.0, TOM.1).await;
    let (gemini_rx, gemini_url) = Receiver::start().await;
    let (wood_rx, wood_url) = Receiver::start().await;
    let secret = subscribe(&ana, "Gemini ERP", &gemini_url, &[]).await;
    subscribe(&tom, "Woodcorner ERP", &wood_url, &[]).await;
    let erp = Machine::new(
        &app,
        &token(
            &ana,
            "Gemini ERP",
            &["orders_read", "orders_write", "events_read"],
        )
        .await,
    );

    let id = new_orders(&erp).await[0];
    let expected = work(&erp, id).await;
    eventually(
        "Gemini's receiver got the acknowledgment and every answer",
        || {
            let got = gemini_rx.delivered();
            async move { got.iter().filter(|r| order_of(r) == Some(id)).count() >= expected }
        },
    )
    .await;
    let got: Vec<Received> = gemini_rx
        .delivered()
        .into_iter()
        .filter(|r| order_of(r) == Some(id))
        .collect();
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_string())
        .collect();
    let (last, answers) = types.split_last().unwrap();
    assert_eq!(last, "order.acknowledged", "{types:?}");
    assert!(
        answers.iter().all(|t| t == "order.line_answered"),
        "{types:?}"
    );
    // Each body is the event: its id is the webhook-id, its order as the supplier saw it.
    for r in &got {
        let e = r.json();
        assert_eq!(e["id"], r.id.as_str());
        assert!(e["occurred_at"].as_str().unwrap().ends_with('Z'));
        assert!(e["correlation_id"].is_string(), "{e}");
    }
    let last = got.last().unwrap().json();
    assert!(
        last["data"]["order"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["removed"] == false)
            .all(|l| l["answer"] == "accepted"),
        "the last event's order has every line answered: {last}"
    );
    // Nothing of Gemini's reached Woodcorner's receiver.
    assert!(
        wood_rx.got().iter().all(|r| order_of(r) != Some(id)),
        "Woodcorner heard of Gemini's order"
    );

    // The reference library accepts every message, and refuses a tampered body, a message
    // signed with another secret and a replay of a message from ten minutes ago.
    let mut messages: Vec<(String, String, Value)> = got
        .iter()
        .map(|r| (secret.clone(), r.body.clone(), r.headers()))
        .collect();
    assert!(
        verify(&messages).iter().all(|v| v == "valid"),
        "{:?}",
        verify(&messages)
    );
    let one = &got[0];
    let tampered = one.body.replace("order.line_answered", "order.cancelled");
    let old = chrono::Utc::now().timestamp() - 600;
    let replayed = json!({
        "webhook-id": one.id,
        "webhook-timestamp": old.to_string(),
        "webhook-signature": sign(&secret, &one.id, old, &one.body).unwrap(),
    });
    let other = millrace::server::webhooks::new_secret();
    messages = vec![
        (secret.clone(), tampered, one.headers()),
        (other, one.body.clone(), one.headers()),
        (secret.clone(), one.body.clone(), replayed),
    ];
    let verdicts = verify(&messages);
    assert!(
        verdicts.iter().all(|v| v.starts_with("invalid")),
        "{verdicts:?}"
    );

    // The pull feed has the same events under the same ids, for Gemini only.
    let (status, page) = erp
        .get("/events?types=order.acknowledged,order.line_answered&limit=500")
        .await;
    assert_eq!(status, 200, "{page}");
    let pulled: Vec<String> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["order"]["id"] == id)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let pushed: Vec<String> = got.iter().map(|r| r.id.clone()).collect();
    assert_eq!(pulled, pushed);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = erp
        .get(&format!("/events?after={cursor}&types=order.acknowledged"))
        .await;
    assert_eq!(rest["events"], json!([]), "{rest}");
    assert_eq!(rest["next_cursor"], cursor.as_str(), "the cursor stays put");
    let wood_feed = Machine::new(
        &app,
        &token(&tom, "Woodcorner feed", &["events_read"]).await,
    );
    let (_, theirs) = wood_feed.get("/events?limit=500").await;
    assert!(
        theirs["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["data"]["order"]["id"] != id),
        "{theirs}"
    );
    // What a supplier may not ask for, and a token without the scope.
    let (status, body) = erp.get("/events?types=delivery.dead_lettered").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_type")),
        "{body}"
    );
    let (status, body) = erp.get("/events?after=yesterday").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{body}"
    );
    let orders_only = Machine::new(&app, &token(&ana, "Orders only", &["orders_read"]).await);
    let (status, body) = orders_only.get("/events").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("scope_missing")),
        "{body}"
    );

    // A test event from the page; a new secret signs beside the old one for a day.
    let sub = subscribers(&ana).await[0]["id"].as_i64().unwrap();
    let r = ana
        .post(
            "/api/webhooks/rotate",
            &[
                ("subscription_id", &sub.to_string()),
                ("idempotency_key", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(act(&ana, sub, "test").await.status(), 200);
    eventually("the test event arrived", || {
        let got = gemini_rx.delivered();
        async move { got.iter().any(|r| r.json()["type"] == "webhook.test") }
    })
    .await;
    let test = gemini_rx
        .delivered()
        .into_iter()
        .find(|r| r.json()["type"] == "webhook.test")
        .unwrap();
    assert_eq!(test.signature.split(' ').count(), 2, "{}", test.signature);
    let verdicts = verify(&[
        (new_secret, test.body.clone(), test.headers()),
        (secret, test.body.clone(), test.headers()),
    ]);
    assert_eq!(verdicts, ["valid", "valid"]);
    assert!(
        wood_rx
            .got()
            .iter()
            .all(|r| r.json()["type"] != "webhook.test"),
        "the test went to one subscriber"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_paused_and_after_it_recovers_gets_every_event_once_in_order() {
    let app = app(|s| {
        s.webhook_pause_after = 3;
        s.webhook_max_attempts = 100;
    })
    .await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let (rx, url) = Receiver::start().await;
    rx.fail(true);
    subscribe(
        &ana,
        "Gemini ERP",
        &url,
        &["order_acknowledged", "order_line_answered"],
    )
    .await;
    let erp = Machine::new(
        &app,
        &token(&ana, "Gemini ERP", &["orders_read", "orders_write"]).await,
    );
    let orders = new_orders(&erp).await;
    assert!(orders.len() >= 2, "{orders:?}");
    let (a, b) = (orders[0], orders[1]);
    let expected = work(&erp, a).await + work(&erp, b).await;

    eventually("the subscriber was paused and Ana was mailed", || {
        let db = app.db.clone();
        async move {
            let (paused,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM webhook_subscriptions WHERE state = 'paused'",
            )
            .fetch_one(&db)
            .await
            .unwrap();
            let (mails,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM mail_outbox WHERE to_address = $1 AND subject LIKE '%paused%'",
            )
            .bind(ANA.0)
            .fetch_one(&db)
            .await
            .unwrap();
            paused == 1 && mails == 1
        }
    })
    .await;
    let sub = subscribers(&ana).await[0].clone();
    assert!(sub["state"] == "paused", "{sub}");
    // Paused: the receiver is back, but nothing is sent until someone resumes it.
    rx.fail(false);
    let tried = rx.got().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.got().len(), tried, "nothing is sent while paused");
    assert_eq!(
        act(&ana, sub["id"].as_i64().unwrap(), "resume")
            .await
            .status(),
        200
    );

    eventually("every event arrived", || {
        let n = rx.delivered().len();
        async move { n >= expected }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let delivered = rx.delivered();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &delivered {
        *per_id.entry(r.id.clone()).or_default() += 1;
    }
    assert!(
        per_id.values().all(|n| *n == 1),
        "delivered twice: {per_id:?}"
    );
    // Exactly the events the portal wrote for these orders, each order's in order.
    let written: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM events WHERE order_id IN ($1, $2) AND type IN ('order.acknowledged', 'order.line_answered') ORDER BY id",
    )
    .bind(a)
    .bind(b)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut got_ids: Vec<i64> = delivered.iter().map(|r| number(&r.id)).collect();
    got_ids.sort();
    assert_eq!(got_ids, written.iter().map(|w| w.0).collect::<Vec<_>>());
    assert_eq!(expected, written.len());
    for order in [a, b] {
        let seq: Vec<i64> = delivered
            .iter()
            .filter(|r| order_of(r) == Some(order))
            .map(|r| number(&r.id))
            .collect();
        assert!(
            seq.windows(2).all(|w| w[0] < w[1]),
            "order {order}: {seq:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_hold_their_order_and_are_sent_again_in_order() {
    let app = app(|s| {
        s.webhook_max_attempts = 2;
        s.webhook_pause_after = 1000;
    })
    .await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let (rx, url) = Receiver::start().await;
    rx.fail(true);
    subscribe(
        &ana,
        "Gemini ERP",
        &url,
        &["order_acknowledged", "order_line_answered"],
    )
    .await;
    let erp = Machine::new(
        &app,
        &token(&ana, "Gemini ERP", &["orders_read", "orders_write"]).await,
    );
    let id = new_orders(&erp).await[0];
    let expected = work(&erp, id).await;
    assert!(expected >= 2);

    eventually("the order's first event is a dead letter", || {
        let owner = &ana;
        async move { subscribers(owner).await[0]["dead"] == 1 }
    })
    .await;
    // The later events of the order wait behind it, untried.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let tried: std::collections::HashSet<String> = rx.got().into_iter().map(|r| r.id).collect();
    assert_eq!(tried.len(), 1, "only the first event was tried: {tried:?}");
    let sub = subscribers(&ana).await[0].clone();
    assert_eq!(sub["pending"], (expected - 1) as i64, "{sub}");

    rx.fail(false);
    let r = act(&ana, sub["id"].as_i64().unwrap(), "replay").await;
    assert_eq!(r.status(), 200);
    eventually("every event arrived", || {
        let n = rx.delivered().len();
        async move { n >= expected }
    })
    .await;
    let seq: Vec<i64> = rx.delivered().iter().map(|r| number(&r.id)).collect();
    assert_eq!(seq.len(), expected, "{seq:?}");
    assert!(seq.windows(2).all(|w| w[0] < w[1]), "{seq:?}");
    let after = subscribers(&ana).await[0].clone();
    assert_eq!(
        (after["dead"].as_i64(), after["pending"].as_i64()),
        (Some(0), Some(0))
    );

    // Past the retention, delivered jobs, the log and the events go; what still has to be
    // delivered stays, however old.
    rx.fail(true);
    let other = new_orders(&erp).await[0];
    work(&erp, other).await;
    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (i64,)>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
                .0
        }
    };
    eventually("a new event is waiting", || async {
        count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook' AND state IN ('pending', 'dead')")
            .await
            > 0
    })
    .await;
    let waiting =
        count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook' AND state IN ('pending', 'dead')")
            .await;
    let future = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let last_attempt = count("SELECT COALESCE(MAX(id), 0) FROM webhook_attempts").await;
    millrace::server::events::prune(&app.db, &future)
        .await
        .unwrap();
    // The newest job and event stay whatever their age (SQLite would hand their ids out
    // again): everything else finished goes.
    assert_eq!(
        count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook' AND state = 'done' AND id < (SELECT MAX(id) FROM jobs)").await,
        0
    );
    // The waiting delivery is retried meanwhile and may log a new attempt (after the newest,
    // which stays); every other attempt logged before the prune is gone.
    let (older,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_attempts WHERE id < $1")
        .bind(last_attempt)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(older, 0);
    assert_eq!(count("SELECT COUNT(*) FROM events").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook' AND state IN ('pending', 'dead')")
            .await,
        waiting
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_organisations_admin_manages_its_subscribers() {
    let app = app(|s| s.webhook_allow_private = false).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let tom = app.signed_in(TOM.0, TOM.1).await;
    let admin = app.signed_in(ADMIN.0, ADMIN.1).await;
    subscribe(&ana, "Gemini ERP", "https://erp.gemini.example/hooks", &[]).await;
    subscribe(
        &admin,
        "Staff analytics",
        "https://analytics.example/hooks",
        &["delivery_dead_lettered"],
    )
    .await;
    let gemini = subscribers(&ana).await;
    assert_eq!(gemini.len(), 1, "Ana sees Gemini's alone: {gemini:?}");
    let id = gemini[0]["id"].as_i64().unwrap();
    assert_eq!(subscribers(&tom).await.len(), 0);
    let staff = subscribers(&admin).await;
    assert_eq!(staff.len(), 1, "the admin manages the staff's: {staff:?}");

    // Another organisation's subscriber is not there for Tom.
    for action in ["pause", "delete", "test", "replay"] {
        assert_eq!(act(&tom, id, action).await.status(), 404, "{action}");
    }
    let r = tom
        .post(
            "/api/webhooks/rotate",
            &[
                ("subscription_id", &id.to_string()),
                ("idempotency_key", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(subscribers(&ana).await[0]["state"], "active");
    // Members and buyers manage none.
    for who in [LEA, BUYER] {
        let b = app.signed_in(who.0, who.1).await;
        assert_eq!(
            b.get("/api/webhooks/list", &[]).await.status(),
            403,
            "{}",
            who.0
        );
        let r = b
            .post(
                "/api/webhooks/create",
                &[
                    ("name", "x"),
                    ("url", "https://x.example/h"),
                    ("idempotency_key", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "{}", who.0);
    }
    // Addresses the portal will not send to, with a reason to act on; nothing stored.
    for (url, says) in [
        ("http://erp.gemini.example/hooks", "https"),
        ("https://10.0.0.7/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("not a url", "full address"),
    ] {
        let r = ana
            .post(
                "/api/webhooks/create",
                &[("name", "Bad"), ("url", url), ("idempotency_key", "")],
            )
            .await;
        assert_eq!(r.status(), 422, "{url}");
        let body = r.text().await.unwrap();
        assert!(body.contains(says), "{url}: {body}");
    }
    assert_eq!(subscribers(&ana).await.len(), 1);
    // A supplier's subscriber cannot ask for the staff's events.
    let r = ana
        .post(
            "/api/webhooks/create",
            &[
                ("name", "Sneaky"),
                ("url", "https://x.example/h"),
                ("delivery_dead_lettered", "on"),
                ("idempotency_key", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    // Deleting is for good, and said once.
    assert_eq!(act(&ana, id, "delete").await.status(), 200);
    assert_eq!(subscribers(&ana).await.len(), 0);
    assert_eq!(act(&ana, id, "delete").await.status(), 404);
}

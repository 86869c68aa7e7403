//! Several instances on one PostgreSQL: two `millrace serve` processes share the users'
//! sessions and the sync work; one is killed mid-run; every supplier action still reaches
//! the Odoo double exactly once.
//!
//! Always runs on PostgreSQL (the throwaway server of `millrace::server::db::throwaway`,
//! or the one `MILLRACE_TEST_POSTGRES_URL` names), whatever `MILLRACE_TEST_DATABASE` says.

use std::collections::HashMap;
use std::time::{Duration, Instant};

mod common;

use common::process::{free_port, serve_with_double, Running};
use common::Browser;
use millrace::odoo_double::{Faults, RunningDouble, Seed};
use serde_json::Value;

/// One `millrace serve` process.
fn start_instance(database_url: &str, double: &RunningDouble, dir: &std::path::Path) -> Running {
    let port = free_port();
    let mut c = serve_with_double(database_url, port, double);
    c.env("MILLRACE_ODOO_TIMEOUT_SECONDS", "5")
        .env("MILLRACE_POLL_INTERVAL_SECONDS", "1")
        .env("MILLRACE_OUTBOX_LEASE_SECONDS", "4")
        .env("MILLRACE_OUTBOX_RETRY_CAP_SECONDS", "1")
        .env("MILLRACE_OUTBOX_MAX_ATTEMPTS", "200")
        .env("MILLRACE_UPLOAD_DIR", dir.join("uploads"));
    Running::start(c, port, &dir.join(format!("serve-{port}.log")))
}

/// Waits for `/readyz`; returns the instance's id.
async fn ready(instance: &mut Running) -> String {
    let body = instance.ready_when(|_| true).await;
    body["instance"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_a_killed_one_loses_and_doubles_nothing() {
    let database_url = millrace::server::db::throwaway::fresh_database()
        .await
        .expect("a throwaway PostgreSQL database");
    let double = common::start_double(19, Seed::Demo).await;
    let dir = tempfile::tempdir().unwrap();
    // The schema and the demo's suppliers and users (`serve` makes no account itself).
    let seeded = millrace::server::db::open(&database_url).await.unwrap();
    millrace::server::demo::seed(&seeded).await.unwrap();
    seeded.close().await;
    let mut a = start_instance(&database_url, &double, dir.path());
    let a_id = ready(&mut a).await;
    let mut b = start_instance(&database_url, &double, dir.path());
    ready(&mut b).await;

    // Signed in on A; the same session works on B (sessions live in PostgreSQL; cookies
    // are per host, not per port, so this one browser's session reaches both).
    let mut ana = Browser::open(&a.url).await;
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(r.status().is_success() || r.status().is_redirection());
    ana.base = b.url.clone();
    let mut page = Value::Null;
    for _ in 0..100 {
        page = ana.orders_page("", "new").await.json().await.unwrap();
        if page["total"].as_i64().unwrap_or(0) >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let orders: Vec<(String, String)> = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .take(12)
        .map(|o| {
            (
                o["id"].as_i64().unwrap().to_string(),
                o["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        orders.len(),
        12,
        "the demo has a dozen new orders for Gemini"
    );

    // Odoo is slow and unreliable: some calls fail before it acts, some after it wrote.
    double.set_faults(Faults {
        latency_ms: 150,
        error_rate: 0.1,
        lost_reply_rate: 0.1,
        ..Default::default()
    });

    // Each order: acknowledged, and its first line moved by a day (inside tolerance, so
    // written to Odoo at once), through both instances in turn. A is killed halfway.
    let mut original_dates = HashMap::new();
    let mut orphaned = Vec::new();
    for (i, (order_id, name)) in orders.iter().enumerate() {
        if i == orders.len() / 2 {
            // Killed while it holds deliveries in flight.
            orphaned = leased_by(&database_url, &a_id).await;
            a.kill();
        }
        ana.base = if i % 2 == 0 && i < orders.len() / 2 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let r = ana
            .post("/api/orders/acknowledge", &[("order_id", order_id)])
            .await;
        assert_eq!(r.status(), 200, "acknowledge {name}: {:?}", r.text().await);
        let detail: Value = ana.order(order_id).await.json().await.unwrap();
        let line = &detail["lines"][0];
        let line_id = line["id"].as_i64().unwrap();
        let requested = chrono::NaiveDate::parse_from_str(
            &line["date_planned"].as_str().unwrap()[..10],
            "%Y-%m-%d",
        )
        .unwrap();
        let proposed = (requested + chrono::Duration::days(1)).to_string();
        original_dates.insert(name.clone(), line_odoo_date(&double, name));
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", order_id),
                    ("line_id", &line_id.to_string()),
                    ("answer", "propose"),
                    ("proposed_date", &proposed),
                    ("reason", "kiln schedule"),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            200,
            "answer a line of {name}: {:?}",
            r.text().await
        );
    }

    // B delivers everything, A's leased messages included once their leases run out.
    let db = millrace::server::db::open(&database_url).await.unwrap();
    assert!(
        !orphaned.is_empty(),
        "A was killed while holding deliveries (else this test proves no takeover)"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (open,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox_messages WHERE status <> 'delivered'")
                .fetch_one(&db)
                .await
                .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} messages still undelivered after two minutes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    double.set_faults(Faults::default());

    let messages: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT m.correlation_id, m.kind, m.order_odoo_id FROM outbox_messages m ORDER BY m.id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(messages.len(), 24, "two actions per order: {messages:?}");
    let notes: Vec<String> = double.with_env(|env| {
        env.table("mail.message")
            .filter(|(_, m)| m["model"] == "purchase.order")
            .map(|(_, m)| m["body"].as_str().unwrap_or_default().to_string())
            .collect()
    });
    for correlation in &orphaned {
        assert!(
            messages.iter().any(|(c, _, _)| c == correlation),
            "A's message {correlation} was taken over"
        );
    }
    for (correlation, kind, order) in &messages {
        let copies = notes
            .iter()
            .filter(|n| n.contains(correlation.as_str()))
            .count();
        assert_eq!(
            copies, 1,
            "{kind} {correlation} on order {order}: {copies} notes in Odoo"
        );
    }
    for (_, name) in &orders {
        let acknowledged = double.with_env(|env| {
            env.table("purchase.order")
                .any(|(_, r)| r["name"] == name.as_str() && r["acknowledged"] == Value::Bool(true))
        });
        assert!(acknowledged, "{name} acknowledged in Odoo");
        assert_ne!(
            line_odoo_date(&double, name),
            original_dates[name],
            "{name}'s first line moved in Odoo"
        );
    }
    // The poller kept running on B after A died (one poller at a time, taken over).
    let holder: (String,) = sqlx::query_as("SELECT holder FROM sync_leases")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(!holder.0.is_empty());
    drop(b);
}

/// Correlation ids of the messages `instance` holds a live lease on, waiting up to five
/// seconds for there to be one.
async fn leased_by(database_url: &str, instance: &str) -> Vec<String> {
    let db = millrace::server::db::open(database_url).await.unwrap();
    for _ in 0..100 {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT m.correlation_id FROM outbox_messages m JOIN jobs j ON j.id = m.job_id
             WHERE m.status = 'pending' AND j.lease_owner LIKE $1 AND j.lease_until > $2",
        )
        .bind(format!("{instance}/%"))
        .bind(millrace::server::db::now())
        .fetch_all(&db)
        .await
        .unwrap();
        if !rows.is_empty() {
            return rows.into_iter().map(|(c,)| c).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Vec::new()
}

/// The date Odoo holds for the order's first line (by sequence, then id).
fn line_odoo_date(double: &RunningDouble, order_name: &str) -> Value {
    double.with_env(|env| {
        let order_id = env
            .table("purchase.order")
            .find(|(_, r)| r["name"] == order_name)
            .map(|(i, _)| *i)
            .unwrap();
        let mut lines: Vec<(i64, i64, Value)> = env
            .table("purchase.order.line")
            .filter(|(_, l)| l["order_id"] == order_id)
            .map(|(i, l)| {
                (
                    l["sequence"].as_i64().unwrap_or(10),
                    *i,
                    l["date_planned"].clone(),
                )
            })
            .collect();
        lines.sort_by_key(|(s, i, _)| (*s, *i));
        lines[0].2.clone()
    })
}

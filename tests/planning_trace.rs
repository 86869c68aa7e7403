//! Black-box tests of the trace (issue 14, part 5): from an approved version to its signal,
//! the reordering rule in Odoo, the purchase order Odoo's replenishment made from it, the
//! supplier's answer, shipment notice and the receipt; and back from the order. Over the
//! page's server function, the page itself, the order page and `/api/v1/planning/traces`;
//! who may see what. SQLite by default, PostgreSQL with `MILLRACE_TEST_DATABASE=postgres`.

mod common;

use common::app::eventually;
use common::machine::{token, Machine, ALL};
use common::planning::{forecast, monday, plan, snapshot_of, upload, Plan, ADMIN, ANA, BUYER};
use millrace::odoo_double::seed::DEMO_VENDORS;
use serde_json::{json, Map, Value};

const RULE: &str = "stock.warehouse.orderpoint";

/// A product the demo's lines name in Units, with no reordering rule in the double yet:
/// (internal reference, Odoo id).
async fn item_without_rule(p: &Plan) -> (String, i64) {
    let products: Vec<(String, i64)> = sqlx::query_as(
        "SELECT product_code, MIN(product_odoo_id) FROM purchase_order_lines WHERE uom = 'Units' AND product_code <> '' AND product_odoo_id IS NOT NULL GROUP BY product_code ORDER BY product_code",
    )
    .fetch_all(&p.app.db)
    .await
    .unwrap();
    p.app.double.with_env(|e| {
        products
            .into_iter()
            .find(|(_, id)| {
                !e.table(RULE)
                    .any(|(_, r)| r.get("product_id").and_then(Value::as_i64) == Some(*id))
            })
            .expect("a product without a rule")
    })
}

/// The version's signals once none is pending.
async fn settled(p: &Plan, id: &str) -> Vec<Value> {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = p.planner.json("/api/planning/signals", &[("id", id)]).await;
        if let Some(list) = last.as_array() {
            if !list.is_empty() && list.iter().all(|s| s["state"] != "pending") {
                return list.clone();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("signals still pending: {last}");
}

/// What the buyer in Odoo does after the push: replenishment orders the rule's product from
/// Gemini and the order is confirmed. Its id.
fn replenish(p: &Plan, product: i64, rule_name: &str) -> i64 {
    p.app.double.with_env(|e| {
        millrace::odoo_double::seed::replenish(
            e,
            DEMO_VENDORS[0].0,
            product,
            12.0,
            monday(2),
            rule_name,
        )
        .expect("the double took the order")
    })
}

/// The trace as the page's server function gives it to `b`.
async fn trace(b: &common::Browser, args: &[(&str, &str)]) -> Value {
    b.json("/api/planning/trace", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_traces_to_the_suppliers_answer_notice_and_receipt_and_back() {
    let p = plan().await;
    let (item, product) = item_without_rule(&p).await;
    let other = p.items.iter().find(|i| **i != item).unwrap().clone();
    let rows: Vec<String> = [&item, &other]
        .iter()
        .flat_map(|code| {
            (1..=2).map(move |w| {
                format!(
                    "{code},WH,{},week,{},Units,statistical,5,,40",
                    monday(w),
                    10 * w
                )
            })
        })
        .collect();
    let to = upload(
        &p.planner,
        "forecast",
        "tests",
        "",
        "t.csv",
        forecast(&rows),
    )
    .await;
    let id = snapshot_of(&to);
    let r = p
        .planner
        .post(&format!("/planning/versions/{id}/approve"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let signals = settled(&p, &id).await;
    let signal = signals
        .iter()
        .find(|s| s["item_code"] == item.as_str())
        .unwrap()
        .clone();
    assert_eq!(signal["state"], "applied", "{signal}");
    let rule_name = signal["odoo_name"].as_str().unwrap().to_string();
    let reference = signal["reference"].as_str().unwrap().to_string();

    // Odoo's replenishment orders from the rule; the poller links the order to the signal.
    let po = replenish(&p, product, &rule_name);
    let order_id: i64 = {
        let mut found = None;
        for _ in 0..300 {
            found = sqlx::query_as::<_, (i64,)>(
                "SELECT o.id FROM purchase_orders o JOIN planning_signal_orders so ON so.order_odoo_id = o.odoo_id WHERE o.odoo_id = $1",
            )
            .bind(po)
            .fetch_optional(&p.app.db)
            .await
            .unwrap();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        found
            .expect("the poller synced and linked the replenishment order")
            .0
    };

    // The supplier's system acknowledges, accepts the line and announces all of it.
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let erp = Machine::new(&p.app, &token(&ana, "Gemini ERP", &ALL).await);
    let (status, order) = erp.get(&format!("/orders/{order_id}")).await;
    assert_eq!(status, 200, "{order}");
    let line_id = order["lines"][0]["id"].as_i64().unwrap();
    let ack = erp
        .post(
            &format!("/orders/{order_id}/acknowledge"),
            Some("t-ack"),
            json!({}),
        )
        .await;
    assert_eq!(ack.0, 200, "{}", ack.1);
    let answer = erp
        .post(
            &format!("/orders/{order_id}/lines/{line_id}/answer"),
            Some("t-answer"),
            json!({"answer": "accept"}),
        )
        .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let today = chrono::Utc::now().date_naive();
    let (tracking,): (String,) =
        sqlx::query_as("SELECT tracking FROM purchase_order_lines WHERE id = $1")
            .bind(line_id)
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    let lots: Vec<String> = match tracking.as_str() {
        "lot" => vec!["LOT-TRACE-1".into()],
        "serial" => (1..=12).map(|n| format!("SN-TRACE-{n}")).collect(),
        _ => Vec::new(),
    };
    let asn = erp
        .post(
            "/shipment-notices",
            Some("t-asn"),
            json!({
                "ship_date": today.to_string(),
                "expected_arrival": (today + chrono::Duration::days(3)).to_string(),
                "carrier": "DHL",
                "tracking_number": "TRACE-1",
                "package_count": 1,
                "lines": [{"line_id": line_id, "quantity": "12", "lots": lots}]
            }),
        )
        .await;
    assert_eq!(asn.0, 201, "{}", asn.1);
    let notice = asn.1["number"].as_str().unwrap().to_string();

    // The goods arrive: the receipt is validated in Odoo.
    eventually("the receipt is validated in Odoo", || async {
        p.app.double.with_env(|e| {
            let admin = e.users[0].clone();
            let picking = e
                .table("stock.picking")
                .find(|(_, r)| r.get("purchase_id").and_then(Value::as_i64) == Some(po))
                .map(|(id, _)| *id);
            picking.is_some_and(|id| {
                e.execute(
                    &admin,
                    "stock.picking",
                    "button_validate",
                    Some(vec![id]),
                    Map::new(),
                )
                .is_ok()
            })
        })
    })
    .await;

    // Forward, from the version and one item, as the buyer sees it.
    let buyer = p.app.signed_in(BUYER.0, BUYER.1).await;
    let mut forward = Value::Null;
    for _ in 0..300 {
        forward = trace(&buyer, &[("version", &id), ("item", &item)]).await;
        if forward["versions"][0]["signals"][0]["orders"][0]["receipts"][0]["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        forward["versions"][0]["signals"][0]["orders"][0]["receipts"][0]["state"], "done",
        "the trace reaches the receipt: {forward:#}"
    );
    let v = &forward["versions"][0];
    assert_eq!(v["import_id"].to_string(), id);
    assert_eq!(v["signals"].as_array().unwrap().len(), 1, "one item asked");
    let s = &v["signals"][0];
    assert_eq!(s["signal"]["reference"], reference.as_str());
    assert_eq!(s["signal"]["correlation_id"], v["correlation_id"]);
    assert_eq!(s["signal"]["odoo_name"], rule_name.as_str());
    let o = &s["orders"][0];
    assert_eq!(o["order_id"], order_id);
    assert_eq!(o["supplier"], DEMO_VENDORS[0].1);
    let line = &o["lines"][0];
    assert_eq!(line["item"], item.as_str());
    assert_eq!(line["answer"], "accepted");
    assert_eq!(line["notices"][0]["number"], notice.as_str());
    assert_eq!(line["received_quantity"], "12");
    // The other item's signal is there when the whole version is traced, without orders.
    let whole = trace(&buyer, &[("version", &id)]).await;
    let all = whole["versions"][0]["signals"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all
        .iter()
        .any(|s| s["signal"]["item_code"] == other.as_str() && s["orders"] == json!([])));

    // Backward, from the order: the version that caused it, with the same signal.
    let back = trace(&buyer, &[("order", &order_id.to_string())]).await;
    assert_eq!(back["order"]["name"], o["name"]);
    assert_eq!(back["versions"][0]["import_id"], v["import_id"]);
    assert_eq!(
        back["versions"][0]["signals"][0]["signal"]["reference"],
        reference.as_str()
    );
    // The order page tells staff where the order came from, with the link; not suppliers.
    let (_, page) = buyer.page(&format!("/orders/{order_id}")).await;
    assert!(
        page.contains(&format!("/planning/trace?order={order_id}")),
        "the buyer's order page links the trace"
    );
    assert!(page.contains(&reference));
    let theirs: Value = ana.order(&order_id.to_string()).await.json().await.unwrap();
    assert_eq!(
        theirs["planned_by"],
        json!([]),
        "suppliers never see the plan"
    );
    let (status, html) = buyer
        .page(&format!("/planning/trace?version={id}&item={item}"))
        .await;
    assert_eq!(status, 200);
    for expected in [
        reference.as_str(),
        rule_name.as_str(),
        notice.as_str(),
        "accepted",
    ] {
        assert!(html.contains(expected), "the page shows {expected}");
    }

    // The planning platform reads the same trace with a planning:read token.
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let planning = Machine::new(&p.app, &token(&admin, "frePPLe", &["planning_read"]).await);
    let (status, api) = planning
        .get(&format!("/planning/traces?version={id}&item={item}"))
        .await;
    assert_eq!(status, 200, "{api}");
    // One trace for both (the page shows times in the user's zone, the API in UTC).
    let api_order = &api["versions"][0]["signals"][0]["orders"][0];
    assert_eq!(
        api_order["lines"], o["lines"],
        "the API and the page read one trace"
    );
    assert_eq!(api_order["order_id"], order_id);
    assert!(
        api["versions"][0]["sent_at"].as_str().unwrap().len() == 19,
        "UTC as stored"
    );
    let (status, api_back) = planning
        .get(&format!("/planning/traces?order={order_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        api_back["versions"][0]["signals"][0]["signal"]["reference"],
        reference.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_staff_see_traces_and_bad_starts_are_told_what_to_give() {
    let p = plan().await;
    let to = upload(
        &p.planner,
        "forecast",
        "tests",
        "",
        "t.csv",
        forecast(&[format!(
            "{},WH,{},week,10,Units,statistical,5,,40",
            p.items[0],
            monday(1)
        )]),
    )
    .await;
    let id = snapshot_of(&to);

    // A supplier: the page, the server function and the API all refuse.
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let r = ana.get("/api/planning/trace", &[("version", &id)]).await;
    assert_eq!(r.status(), 403);
    let (status, _) = ana.page(&format!("/planning/trace?version={id}")).await;
    assert_eq!(status, 403);
    let erp = Machine::new(&p.app, &token(&ana, "Gemini ERP", &ALL).await);
    let (status, body) = erp.get(&format!("/planning/traces?version={id}")).await;
    assert_eq!(status, 403, "{body}");

    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let planning = Machine::new(&p.app, &token(&admin, "frePPLe", &["planning_read"]).await);
    // Neither start, both, or an unknown one.
    let (status, body) = planning.get("/planning/traces").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_trace_start");
    let (status, _) = planning
        .get(&format!("/planning/traces?version={id}&order=1"))
        .await;
    assert_eq!(status, 422);
    let (status, body) = planning.get("/planning/traces?version=999999").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = planning.get("/planning/traces?order=999999").await;
    assert_eq!(status, 404);
    // A version not approved traces to no signals.
    let (status, body) = planning
        .get(&format!("/planning/traces?version={id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["versions"][0]["status"], "valid");
    assert_eq!(body["versions"][0]["signals"], json!([]));

    // A buyer limited to another company does not see this company's order.
    let buyer = p.app.signed_in(BUYER.0, BUYER.1).await;
    let order: (i64,) = sqlx::query_as(
        "SELECT o.id FROM purchase_orders o JOIN order_headers h ON h.order_id = o.id WHERE h.company_odoo_id = 1 LIMIT 1",
    )
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    let mine = trace(&buyer, &[("order", &order.0.to_string())]).await;
    assert_eq!(mine["versions"], json!([]), "{mine}");
    let buyer_id: (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(BUYER.0)
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO staff_companies (user_id, company_odoo_id) VALUES ($1, 2)")
        .bind(buyer_id.0)
        .execute(&p.app.db)
        .await
        .unwrap();
    let limited = p.app.signed_in(BUYER.0, BUYER.1).await;
    let r = limited
        .get("/api/planning/trace", &[("order", &order.0.to_string())])
        .await;
    assert_eq!(
        r.status(),
        404,
        "another company's order is not there for them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_versions_trace_shows_what_led_somewhere_and_finds_any_item() {
    let p = plan().await;
    let to = upload(
        &p.planner,
        "forecast",
        "tests",
        "",
        "t.csv",
        forecast(&[format!(
            "{},WH,{},week,10,Units,statistical,5,,40",
            p.items[0],
            monday(1)
        )]),
    )
    .await;
    let id = snapshot_of(&to);
    let import_id: i64 = id.parse().expect("a version id");
    // 2,100 signals of as many items, as an approval of a large version leaves them.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2100)
         INSERT INTO planning_signals (reference, import_id, kind, signal_key, item_code, location_code, product_odoo_id, warehouse_code, min_qty, max_qty, quantity, correlation_id, state, created_at)
         SELECT 'SIG-BULK-' || (10000 + i), $1, 'rule', 'bulk:' || (10000 + i), 'BULK-' || (10000 + i), 'WH', 1, 'WH', '1', '2', '1', 'corr-bulk', 'applied', '2026-12-01 00:00:00' FROM n",
    )
    .bind(import_id)
    .execute(&p.app.db)
    .await
    .unwrap();
    // The very last one led to a purchase order of company 1.
    let (order_odoo_id, order_name): (i64, String) = sqlx::query_as(
        "SELECT o.odoo_id, o.name FROM purchase_orders o JOIN order_headers h ON h.order_id = o.id WHERE h.company_odoo_id = 1 ORDER BY o.id LIMIT 1",
    )
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO planning_signal_orders (signal_id, order_odoo_id, order_name, linked_at)
         SELECT id, $1, $2, '2026-12-01 00:00:00' FROM planning_signals WHERE reference = 'SIG-BULK-12100'",
    )
    .bind(order_odoo_id)
    .bind(&order_name)
    .execute(&p.app.db)
    .await
    .unwrap();

    let buyer = p.app.signed_in(BUYER.0, BUYER.1).await;
    let whole = trace(&buyer, &[("version", &id)]).await;
    assert_eq!(whole["truncated_at"], 200, "{}", whole["truncated_at"]);
    let signals = whole["versions"][0]["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 200);
    assert_eq!(
        signals[199]["signal"]["reference"], "SIG-BULK-12100",
        "the signal that led to an order is shown although 2,099 come before it"
    );
    assert_eq!(signals[0]["signal"]["reference"], "SIG-BULK-10001");

    // One item, beyond the first 2,000, in any case.
    let one = trace(&buyer, &[("version", &id), ("item", "bulk-12050")]).await;
    let signals = one["versions"][0]["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 1, "{one}");
    assert_eq!(signals[0]["signal"]["item_code"], "BULK-12050");
    assert_eq!(one["truncated_at"], Value::Null);
}

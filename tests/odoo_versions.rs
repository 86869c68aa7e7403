//! The whole order flow against every Odoo the portal supports: 17, 18 and 19, each with the
//! module sets real installations have (purchase only; purchase + stock; purchase + stock +
//! stock_delivery). The double presents only the fields its version and modules really have
//! (recorded field lists), so a field the portal assumes fails here as it fails on a real
//! server. Each case runs the first sync, an acknowledgment, a date and a quantity change
//! within tolerance, a shipment notice with a lot and a tracking number, and a document,
//! then looks at what "Odoo" holds: written once, nothing dead-lettered.

use std::time::Duration;

mod common;

use common::Browser;
use millrace::odoo_double::{DoubleConfig, Modules, RunningDouble, Seed};
use serde_json::{json, Value};

use common::app::{eventually, TestApp};

async fn spawn_app(version: u8, modules: Modules) -> TestApp {
    common::app::spawn(DoubleConfig {
        version,
        modules: Some(modules),
        seed: Seed::Demo,
        ..Default::default()
    })
    .await
}

/// Chatter notes on a record of the double.
fn notes(double: &RunningDouble, model: &str, id: i64) -> Vec<String> {
    double.with_env(|env| {
        env.table("mail.message")
            .filter(|(_, m)| m["model"] == model && m["res_id"] == id)
            .map(|(_, m)| m["body"].as_str().unwrap_or_default().to_string())
            .collect()
    })
}

async fn odoo_id(app: &TestApp, table: &str, id: i64) -> i64 {
    let (odoo_id,): (i64,) = sqlx::query_as(&format!("SELECT odoo_id FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    odoo_id
}

async fn outbox_settled(app: &TestApp) -> bool {
    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox_messages WHERE status <> 'delivered'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    open == 0
}

async fn round_trip(version: u8, modules: Modules) {
    let app = spawn_app(version, modules).await;
    let mut ana = Browser::open(&app.url).await;
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let mut page = Value::Null;
    for _ in 0..150 {
        page = ana.orders("").await;
        if page["total"].as_i64().unwrap_or(0) >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let orders = page["orders"].as_array().expect("orders synced").clone();
    assert!(orders.len() >= 5, "the first sync read the orders: {page}");

    // 1. Acknowledge an order: a note on the order everywhere, the flag where Odoo has it.
    let ack = orders[0]["id"].as_i64().unwrap();
    let ack_odoo = odoo_id(&app, "purchase_orders", ack).await;
    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &ack.to_string())])
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    // 2. A date and a quantity within tolerance on a line of another order.
    let other = orders.iter().find(|o| o["id"] != orders[0]["id"]).unwrap()["id"]
        .as_i64()
        .unwrap();
    let detail: Value = ana.order(&other.to_string()).await.json().await.unwrap();
    let line = &detail["lines"][0];
    let requested = chrono::NaiveDate::parse_from_str(
        &line["date_planned"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    let new_date = (requested + chrono::Duration::days(1)).to_string();
    let quantity: rust_decimal::Decimal = line["quantity"].as_str().unwrap().parse().unwrap();
    let new_quantity = (quantity * rust_decimal::Decimal::new(98, 2)).round_dp(2);
    let line_odoo = odoo_id(&app, "purchase_order_lines", line["id"].as_i64().unwrap()).await;
    let r = ana
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &other.to_string()),
                ("line_id", &line["id"].as_i64().unwrap().to_string()),
                ("answer", "propose"),
                ("proposed_date", &new_date),
                ("proposed_quantity", &new_quantity.to_string()),
                ("reason", "kiln maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    // 3. A shipment notice: a lot where Odoo tracks lots, a tracking number.
    let open: Value = ana
        .get("/api/shipments/open-lines", &[("orders", "")])
        .await
        .json()
        .await
        .unwrap();
    let open = open.as_array().unwrap();
    let shipped = open
        .iter()
        .find(|l| l["tracking"] == "lot")
        .or_else(|| open.iter().find(|l| l["tracking"] == "none"))
        .expect("an open line")
        .clone();
    assert_eq!(
        open.iter().any(|l| l["tracking"] == "lot"),
        modules.stock,
        "lots are asked for exactly where Odoo tracks them"
    );
    let lot = if shipped["tracking"] == "lot" {
        "LOT-17-A"
    } else {
        ""
    };
    let today = chrono::Utc::now().date_naive();
    let arrival = today + chrono::Duration::days(3);
    let form: Vec<(String, String)> = vec![
        ("shipment[ship_date]".into(), today.to_string()),
        ("shipment[expected_arrival]".into(), arrival.to_string()),
        ("shipment[carrier]".into(), "DHL".into()),
        (
            "shipment[tracking_number]".into(),
            "1Z999AA10123456784".into(),
        ),
        ("shipment[package_count]".into(), "1".into()),
        (
            "shipment[lines][0][line_id]".into(),
            shipped["line_id"].as_i64().unwrap().to_string(),
        ),
        ("shipment[lines][0][quantity]".into(), "2".into()),
        ("shipment[lines][0][lots]".into(), lot.into()),
    ];
    let r = ana.post_owned("/api/shipments/submit", &form).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let shipped_order = odoo_id(
        &app,
        "purchase_orders",
        shipped["order_id"].as_i64().unwrap(),
    )
    .await;
    let shipped_line = odoo_id(
        &app,
        "purchase_order_lines",
        shipped["line_id"].as_i64().unwrap(),
    )
    .await;

    // 4. A certificate on the notice.
    let notice = ana
        .get("/api/shipments/list", &[])
        .await
        .json::<Value>()
        .await
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", ana.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.7\n% certificate\n".to_vec())
                .file_name("coc.pdf"),
        );
    let r = ana
        .http
        .post(format!("{}/shipments/{notice}/documents", ana.base))
        .multipart(form)
        .send()
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

    // The shipments page says why no receipt is prefilled, only where there is none.
    let page = ana.get("/shipments", &[]).await.text().await.unwrap();
    assert_eq!(
        page.contains("has no Inventory app"),
        !modules.stock,
        "the notice about receipts shows exactly without Inventory"
    );

    // Everything reaches Odoo, nothing is dead-lettered.
    eventually("every message delivered", || outbox_settled(&app)).await;

    let ack_notes = notes(&app.double, "purchase.order", ack_odoo);
    assert_eq!(
        ack_notes
            .iter()
            .filter(|n| n.contains("Acknowledged by Ana Silva"))
            .count(),
        1,
        "{ack_notes:?}"
    );
    let flag = app.double.with_env(|env| {
        env.get("purchase.order", ack_odoo)
            .unwrap()
            .get("acknowledged")
            .cloned()
    });
    assert_eq!(
        flag == Some(json!(true)),
        version >= 18,
        "the acknowledged flag is written exactly where Odoo has it: {flag:?}"
    );

    let (date, qty) = app.double.with_env(|env| {
        let l = env.get("purchase.order.line", line_odoo).unwrap();
        (
            l["date_planned"].as_str().unwrap().to_string(),
            l["product_qty"].as_f64().unwrap(),
        )
    });
    assert!(date.starts_with(&new_date), "{date} vs {new_date}");
    assert_eq!(
        rust_decimal::Decimal::try_from(qty).unwrap().normalize(),
        new_quantity.normalize()
    );

    let (picking, move_lines, attachments) = app.double.with_env(|env| {
        let picking = env
            .table("stock.picking")
            .find(|(_, p)| p["purchase_id"] == json!(shipped_order) && p["state"] != "done")
            .map(|(id, p)| (*id, p.clone()));
        let move_lines: Vec<Value> = env
            .table("stock.move")
            .filter(|(_, m)| m["purchase_line_id"] == json!(shipped_line))
            .flat_map(|(mid, _)| {
                env.table("stock.move.line")
                    .filter(move |(_, ml)| ml["move_id"] == json!(*mid))
                    .map(|(_, ml)| Value::Object(ml.clone()))
            })
            .collect();
        let attachments: Vec<(String, i64)> = env
            .table("ir.attachment")
            .map(|(_, a)| {
                (
                    a["res_model"].as_str().unwrap_or_default().to_string(),
                    a["res_id"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        (picking, move_lines, attachments)
    });
    let order_notes = notes(&app.double, "purchase.order", shipped_order);
    if modules.stock {
        let (picking_id, picking) = picking.expect("the order's receipt");
        assert!(
            picking["scheduled_date"]
                .as_str()
                .unwrap()
                .starts_with(&arrival.to_string()),
            "{picking:?}"
        );
        assert!(
            move_lines.iter().any(|ml| ml["quantity"] == json!(2.0)
                && (lot.is_empty() || ml["lot_name"] == json!(lot))),
            "{move_lines:?}"
        );
        let picking_notes = notes(&app.double, "stock.picking", picking_id);
        if modules.delivery {
            assert_eq!(
                picking["carrier_tracking_ref"],
                json!("DHL 1Z999AA10123456784")
            );
            assert!(picking_notes.iter().all(|n| !n.contains("Tracking:")));
        } else {
            assert!(picking
                .get("carrier_tracking_ref")
                .is_none_or(|t| t == &json!(false)));
            assert_eq!(
                picking_notes
                    .iter()
                    .filter(|n| n.contains("Tracking: DHL 1Z999AA10123456784"))
                    .count(),
                1,
                "{picking_notes:?}"
            );
        }
        assert_eq!(attachments, vec![("stock.picking".to_string(), picking_id)]);
        assert!(order_notes
            .iter()
            .any(|n| n.contains("receipt prefilled from ASN-000001")));
    } else {
        assert!(picking.is_none() && move_lines.is_empty());
        assert_eq!(
            attachments,
            vec![("purchase.order".to_string(), shipped_order)]
        );
        let note = order_notes
            .iter()
            .find(|n| n.contains("ASN-000001"))
            .unwrap_or_else(|| panic!("the notice in the order's chatter: {order_notes:?}"));
        assert!(note.contains("no Inventory app"), "{note}");
        assert!(note.contains("DHL 1Z999AA10123456784"), "{note}");
        assert!(note.contains("2 ×"), "{note}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_19_with_purchase_only() {
    round_trip(19, Modules::PURCHASE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_19_with_purchase_and_stock() {
    round_trip(19, Modules::PURCHASE_STOCK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_19_with_purchase_stock_and_delivery() {
    round_trip(19, Modules::PURCHASE_STOCK_DELIVERY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_18_with_purchase_and_stock() {
    round_trip(18, Modules::PURCHASE_STOCK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_17_with_purchase_stock_and_delivery() {
    round_trip(17, Modules::PURCHASE_STOCK_DELIVERY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_17_with_purchase_only() {
    round_trip(17, Modules::PURCHASE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_17_with_purchase_and_stock() {
    round_trip(17, Modules::PURCHASE_STOCK).await;
}

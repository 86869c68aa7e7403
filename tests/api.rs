//! Black-box tests of `/api/v1` (issue 15): a supplier's own system working an order by
//! machine, and the API's governance (tokens and scopes, other organisations' ids, payload
//! paths, idempotency keys, rate limits, revocation, the OpenAPI document). SQLite by
//! default, PostgreSQL with `MILLRACE_TEST_DATABASE=postgres`.

mod common;

use std::time::Duration;

use common::app::{eventually, spawn, TestApp};
use common::machine::{order_in_feed, token, Machine, ALL};
use common::Browser;
use millrace::odoo_double::{DoubleConfig, Modules};
use serde_json::{json, Value};

const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");
const TOM: (&str, &str) = ("tom@woodcorner.example", "woodcorner-demo-pass");
const BUYER: (&str, &str) = ("buyer@millrace.example", "buyer-demo-pass");
const ADMIN: (&str, &str) = ("admin@millrace.example", "admin-demo-pass");

async fn app() -> TestApp {
    spawn(DoubleConfig {
        version: 19,
        modules: Some(Modules::PURCHASE_STOCK_DELIVERY),
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppliers_system_acknowledges_answers_and_ships_an_order_through_the_api() {
    let app = app().await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let erp = Machine::new(&app, &token(&ana, "Gemini ERP", &ALL).await);

    let id = order_in_feed(&erp, "P00031").await;
    let (status, order) = erp.get(&format!("/orders/{id}")).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["number"], "P00031");
    assert_eq!(order["status"], "new");
    let line = order["lines"][0].clone();
    let line_id = line["id"].as_i64().unwrap();
    assert!(order["ordered_at"].as_str().unwrap().ends_with('Z'));
    // Where the feed stands now.
    let (_, page) = erp.get("/orders?limit=200").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();

    // Acknowledge: once, and the retried request answers the same.
    let ack = format!("/orders/{id}/acknowledge");
    let first = erp.post(&ack, Some("ack-1"), json!({})).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["already"], false);
    assert_eq!(erp.post(&ack, Some("ack-1"), json!({})).await, first);
    let again = erp.post(&ack, Some("ack-2"), json!({})).await;
    assert_eq!(again.1["already"], true, "{}", again.1);

    // Accept the first line, then announce all of it with a tracking number.
    let answer = format!("/orders/{id}/lines/{line_id}/answer");
    let (status, body) = erp
        .post(&answer, Some("answer-1"), json!({"answer": "accept"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let notice = json!({
        "ship_date": chrono::Utc::now().date_naive().to_string(),
        "expected_arrival": (chrono::Utc::now().date_naive() + chrono::Duration::days(2)).to_string(),
        "carrier": "DHL",
        "tracking_number": "JD014600001",
        "package_count": 1,
        "lines": [{"line_id": line_id, "quantity": line["open_quantity"]}]
    });
    let created = erp
        .post("/shipment-notices", Some("asn-1"), notice.clone())
        .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let number = created.1["number"].as_str().unwrap().to_string();
    assert_eq!(
        erp.post("/shipment-notices", Some("asn-1"), notice.clone())
            .await,
        created,
        "a retried submission answers the first"
    );
    let (_, notices) = erp.get("/shipment-notices").await;
    assert_eq!(
        notices
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["number"] == number.as_str())
            .count(),
        1
    );

    // The order moved in the feed; its history names the system; Odoo got it all once.
    let (_, changed) = erp.get(&format!("/orders?after={cursor}")).await;
    assert!(
        changed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == id),
        "{changed}"
    );
    let detail: Value = ana.order(&id.to_string()).await.json().await.unwrap();
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "Gemini ERP (API)"),
        "{detail}"
    );
    let odoo_id: (i64,) = sqlx::query_as("SELECT odoo_id FROM purchase_orders WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    eventually(
        "the acknowledgment and the tracking number in Odoo",
        || async {
            app.double.with_env(|env| {
                let acknowledged = env
                    .get("purchase.order", odoo_id.0)
                    .and_then(|o| o.get("acknowledged").cloned())
                    == Some(json!(true));
                let tracked = env.table("stock.picking").any(|(_, p)| {
                    p.get("purchase_id") == Some(&json!(odoo_id.0))
                        && p.get("carrier_tracking_ref")
                            .and_then(Value::as_str)
                            .is_some_and(|t| t.contains("JD014600001"))
                });
                acknowledged && tracked
            })
        },
    )
    .await;
    let notes: Vec<String> = app.double.with_env(|env| {
        env.table("mail.message")
            .filter(|(_, m)| m["model"] == "purchase.order" && m["res_id"] == odoo_id.0)
            .map(|(_, m)| m["body"].as_str().unwrap_or_default().to_string())
            .filter(|b| b.contains("Acknowledged"))
            .collect()
    });
    assert_eq!(notes.len(), 1, "{notes:?}");

    // A delivery note attached by machine reaches Odoo once; the receipts read back.
    let notice_id = notices
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["number"] == number.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let pdf = b"%PDF-1.4\n% a delivery note\n%%EOF\n".to_vec();
    let upload = |key: &'static str, bytes: Vec<u8>, name: &'static str| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        erp.http
            .post(format!(
                "{}/shipment-notices/{notice_id}/documents",
                erp.base
            ))
            .bearer_auth(&erp.token)
            .header("Idempotency-Key", key)
            .multipart(form)
            .send()
    };
    let r = upload("doc-1", pdf.clone(), "delivery-note.pdf")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["already"], false, "{first}");
    let again: Value = upload("doc-2", pdf.clone(), "delivery-note.pdf")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["already"], true,
        "the same file twice is attached once: {again}"
    );
    let r = upload("doc-3", b"MZ not a document".to_vec(), "tool.exe")
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let refused: Value = r.json().await.unwrap();
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("not a PDF, PNG or JPEG"),
        "{refused}"
    );
    eventually("the delivery note is attached in Odoo, once", || async {
        app.double.with_env(|env| {
            env.table("ir.attachment")
                .filter(|(_, a)| {
                    a["name"]
                        .as_str()
                        .is_some_and(|n| n.contains("delivery-note.pdf"))
                })
                .count()
                == 1
        })
    })
    .await;
    let (status, receipts) = erp.get(&format!("/orders/{id}/receipts")).await;
    assert_eq!(status, 200, "{receipts}");
    assert_eq!(receipts["order_id"], id);
    assert!(
        receipts["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["line_id"] == line_id),
        "{receipts}"
    );
    // Another organisation's system finds neither.
    let tom = app.signed_in(TOM.0, TOM.1).await;
    let theirs = Machine::new(&app, &token(&tom, "Wood ERP", &ALL).await);
    let (status, _) = theirs.get(&format!("/orders/{id}/receipts")).await;
    assert_eq!(status, 404);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf).file_name("x.pdf"),
    );
    let r = theirs
        .http
        .post(format!(
            "{}/shipment-notices/{notice_id}/documents",
            theirs.base
        ))
        .bearer_auth(&theirs.token)
        .header("Idempotency-Key", "wood-1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_scoped_to_their_organisation_and_their_areas_and_revoked_at_once() {
    let app = app().await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let tom = app.signed_in(TOM.0, TOM.1).await;
    let reader = Machine::new(&app, &token(&ana, "Gemini BI", &["orders_read"]).await);
    let erp = Machine::new(&app, &token(&ana, "Gemini ERP", &ALL).await);
    let other = Machine::new(&app, &token(&tom, "Wood Corner ERP", &ALL).await);
    let id = order_in_feed(&erp, "P00031").await;

    // No token, a wrong one: 401 with a problem and the scheme to use.
    let r = reqwest::get(format!("{}/api/v1/orders", app.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"millrace\"");
    let wrong = Machine::new(&app, "mrt_notatoken");
    let (status, problem) = wrong.get("/orders").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("unauthorized"))
    );

    // A read-only token reads and does nothing else.
    assert_eq!(reader.get(&format!("/orders/{id}")).await.0, 200);
    let (status, problem) = reader
        .post(&format!("/orders/{id}/acknowledge"), Some("k1"), json!({}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(problem["code"], "scope_missing");
    assert_eq!(reader.get("/shipment-notices").await.0, 403);

    // Another organisation's order is as if it did not exist.
    let (status, problem) = other.get(&format!("/orders/{id}")).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    assert_eq!(
        other
            .post(&format!("/orders/{id}/acknowledge"), Some("k2"), json!({}))
            .await
            .0,
        404
    );
    assert!(order_in_feed_or_none(&other, id).await.is_none());

    // Payloads: the path of the problem; nothing stored.
    let detail: Value = erp.get(&format!("/orders/{id}")).await.1;
    let line_id = detail["lines"][0]["id"].as_i64().unwrap();
    let answer = format!("/orders/{id}/lines/{line_id}/answer");
    let (status, problem) = erp
        .post(
            &answer,
            Some("k3"),
            json!({"answer": "propose", "proposed_quantity": 5}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "$.proposed_quantity");
    let (status, problem) = erp
        .post(
            "/shipment-notices",
            Some("k4"),
            json!({"ship_date": "2026-12-01", "expected_arrival": "2026-12-02", "carrier": "DHL",
                   "tracking_number": "X", "package_count": 1, "lines": [{"line_id": line_id}]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "$.lines[0]");
    let (status, problem) = erp
        .post(&answer, Some("k5"), json!({"answer": "maybe"}))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["path"].as_str()),
        (422, Some("$.answer"))
    );
    let (status, problem) = erp
        .post(
            &answer,
            Some("k6"),
            json!({"answer": "propose", "proposed_quantity": "1"}),
        )
        .await;
    assert_eq!(
        status, 422,
        "a proposal outside tolerance needs a reason: {problem}"
    );
    assert_ne!(
        problem["code"], "invalid_payload",
        "a rule, not the payload: {problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("reason"),
        "{problem}"
    );
    let (answered,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM purchase_order_lines WHERE id = $1 AND answer IS NOT NULL",
    )
    .bind(line_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(answered, 0, "nothing half-written");

    // Keys: required on POST; the same key with another body is refused.
    let (status, problem) = erp.post(&answer, None, json!({"answer": "accept"})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("idempotency_key_missing"))
    );
    assert_eq!(
        erp.post(&answer, Some("k7"), json!({"answer": "accept"}))
            .await
            .0,
        200
    );
    let (status, problem) = erp
        .post(
            &answer,
            Some("k7"),
            json!({"answer": "reject", "reason": "no"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );

    // Revoked on the page: refused from the next request on.
    let list: Value = ana.json("/api/tokens/list", &[("supplier", "")]).await;
    assert!(
        !list.to_string().contains(&erp.token),
        "never the secret again"
    );
    let erp_id = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Gemini ERP")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    // Tom cannot revoke Gemini's token.
    assert_eq!(
        tom.post("/api/tokens/revoke", &[("token_id", &erp_id)])
            .await
            .status(),
        404
    );
    assert_eq!(erp.get("/orders").await.0, 200);
    let r = ana
        .post("/api/tokens/revoke", &[("token_id", &erp_id)])
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(erp.get("/orders").await.0, 401);
    let (audited,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('api_token_created', 'api_token_revoked')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 4);

    // Only organisation admins make tokens; a token's user never signs in or shows as a member.
    let buyer = app.signed_in(BUYER.0, BUYER.1).await;
    let r = buyer
        .post(
            "/api/tokens/create",
            &[
                ("supplier", "1"),
                ("name", "x"),
                ("orders_read", "on"),
                ("expires_in_days", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let team = ana.json("/api/team/list", &[("supplier", "")]).await;
    assert!(!team.to_string().contains("integrations.invalid"), "{team}");
    let (email,): (String,) =
        sqlx::query_as("SELECT email FROM users WHERE kind = 'integration' LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let mut b = Browser::open(&app.url).await;
    assert!(!b.sign_in(&email, "").await.status().is_success());
}

/// Whether `id` shows in `m`'s change feed (None when it does not).
async fn order_in_feed_or_none(m: &Machine, id: i64) -> Option<()> {
    let (status, page) = m.get("/orders?limit=200").await;
    assert_eq!(status, 200);
    page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["id"] == id)
        .then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_sends_too_much_is_told_when_to_come_back_and_others_are_not_slowed() {
    let app = app().await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let busy = Machine::new(&app, &token(&ana, "Busy", &["orders_read"]).await);
    let calm = Machine::new(&app, &token(&ana, "Calm", &["orders_read"]).await);
    // The default: 120 a minute in bursts of 30.
    let mut limited = None;
    for _ in 0..40 {
        let r = busy
            .http
            .get(format!("{}/orders?limit=1", busy.base))
            .bearer_auth(&busy.token)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a burst beyond the limit is refused");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(calm.get("/orders?limit=1").await.0, 200);
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(busy.get("/orders?limit=1").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_describes_every_operation() {
    let app = app().await;
    let r = reqwest::get(format!("{}/api/v1/openapi.json", app.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/acknowledge",
        "/api/v1/orders/{id}/lines/{line_id}/answer",
        "/api/v1/shipment-notices",
        "/api/v1/shipment-notices/{id}/cancel",
        "/api/v1/events",
        "/api/v1/exceptions",
        "/api/v1/planning/supply",
        "/api/v1/planning/traces",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    // One schema per canonical value, referred to wherever the value appears.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "Item",
        "Location",
        "Unit",
        "Supplier",
        "LeadTime",
        "OrderStatus",
    ] {
        assert!(schemas[name].is_object(), "{name} is a component");
    }
    for (schema, field, canonical) in [
        ("Order", "status", "OrderStatus"),
        ("Order", "supplier", "Supplier"),
        ("OrderLine", "item", "Item"),
        ("OrderLine", "unit", "Unit"),
        ("OrderChange", "status", "OrderStatus"),
        ("LineReceipt", "item", "Item"),
        ("ShipmentNoticeLine", "unit", "Unit"),
        ("ExceptionItem", "supplier", "Supplier"),
        ("SupplyRow", "item", "Item"),
        ("SupplyRow", "location", "Location"),
        ("SupplyRow", "unit", "Unit"),
        ("SupplyRow", "supplier", "Supplier"),
        ("SupplyRow", "lead_time_days", "LeadTime"),
        ("TraceLine", "item", "Item"),
        ("TraceLine", "unit", "Unit"),
        ("TraceOrder", "status", "OrderStatus"),
        ("TraceOrder", "supplier", "Supplier"),
    ] {
        let property = schemas[schema]["properties"][field].to_string();
        assert!(
            property.contains(&format!("#/components/schemas/{canonical}")),
            "{schema}.{field} is the canonical {canonical}: {property}"
        );
    }
    assert!(schemas["OrderStatus"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("changes_proposed")));
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
    // An unknown operation is a problem too.
    let r = reqwest::get(format!("{}/api/v1/nothing", app.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staffs_systems_read_the_buyers_exceptions_with_an_exceptions_read_token() {
    let app = app().await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let erp = Machine::new(&app, &token(&ana, "Gemini ERP", &ALL).await);
    let id = order_in_feed(&erp, "P00031").await;
    let (_, order) = erp.get(&format!("/orders/{id}")).await;
    let line_id = order["lines"][0]["id"].as_i64().unwrap();
    let (status, body) = erp
        .post(
            &format!("/orders/{id}/lines/{line_id}/answer"),
            Some("propose-1"),
            json!({"answer": "propose", "proposed_quantity": "1", "reason": "one left in stock"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // A supplier's token cannot be given the scope.
    let r = ana
        .post(
            "/api/tokens/create",
            &[
                ("supplier", ""),
                ("name", "Peek"),
                ("expires_in_days", ""),
                ("exceptions_read", "on"),
            ],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.text().await.unwrap().contains("staff's own systems"));

    let admin = app.signed_in(ADMIN.0, ADMIN.1).await;
    let bi = Machine::new(
        &app,
        &token(&admin, "BI dashboard", &["exceptions_read"]).await,
    );
    let (status, list) = bi.get("/exceptions?category=proposal").await;
    assert_eq!(status, 200, "{list}");
    let items = list["exceptions"].as_array().unwrap();
    let mine = items
        .iter()
        .find(|e| e["order"]["id"] == id)
        .unwrap_or_else(|| panic!("the proposal on P00031 in {list:#}"));
    assert_eq!(mine["category"], "proposal");
    assert_eq!(mine["order"]["number"], "P00031");
    assert!(
        mine["detail"]
            .as_str()
            .unwrap()
            .contains("one left in stock"),
        "{mine}"
    );
    assert!(mine["link"]
        .as_str()
        .unwrap()
        .ends_with("/buyer/exceptions#proposals"));
    assert!(items.iter().all(|e| e["category"] == "proposal"));
    assert_eq!(list["counts"], json!({"proposal": items.len()}));

    // Everything, as the screen's CSV has it; a date-bearing category says since when in UTC.
    let (_, all) = bi.get("/exceptions").await;
    let csv = admin
        .http
        .get(format!("{}/buyer/exceptions.csv", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let all_items = all["exceptions"].as_array().unwrap();
    assert_eq!(csv.lines().count() - 1, all_items.len(), "{csv}");
    let total: u64 = all["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, all_items.len());
    for e in all_items.iter().filter(|e| e["since"].is_string()) {
        assert!(e["since"].as_str().unwrap().ends_with('Z'), "{e}");
    }

    // Refusals: an unknown category names the known ones; other scopes and no token.
    let (status, problem) = bi.get("/exceptions?category=proposal,nonsense").await;
    assert_eq!(status, 400);
    assert_eq!(problem["code"], "invalid_category");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("late_acknowledgment"));
    let reader = Machine::new(&app, &token(&admin, "Reader", &["orders_read"]).await);
    let (status, problem) = reader.get("/exceptions").await;
    assert_eq!(status, 403);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("exceptions:read"));
    let (status, _) = erp.get("/exceptions").await;
    assert_eq!(status, 403, "a supplier's token never reads the exceptions");
    let r = reqwest::get(format!("{}/api/v1/exceptions", app.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

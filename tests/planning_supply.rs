//! Black-box tests of demand planning beyond the intake (issue 14): planners' overrides of
//! forecast buckets (kept through later imports until they expire, validated, planners
//! only), one item's chart across versions, approval by rule within limits, and the
//! supplier-confirmed supply offered back to the planning platform with its token scope.
//! SQLite by default, PostgreSQL with `MILLRACE_TEST_DATABASE=postgres`.

mod common;

use chrono::{Duration, Utc};
use common::machine::{order_in_feed, token, Machine, ALL};
use common::planning::*;
use common::Browser;
use serde_json::{json, Value};

/// The `saved` or `error` a form's redirect carries, decoded.
fn said(r: &reqwest::Response) -> (String, String) {
    assert_eq!(r.status(), 303, "a form answers with a redirect");
    let to = r.headers()["location"].to_str().unwrap();
    let query = to.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().next().unwrap_or_default()
}

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

async fn override_bucket(
    b: &Browser,
    item: &str,
    bucket: &str,
    quantity: &str,
    reason: &str,
    until: &str,
) -> reqwest::Response {
    b.post(
        "/planning/overrides",
        &[
            ("item", item),
            ("location", "WH"),
            ("bucket_start", bucket),
            ("quantity", quantity),
            ("reason", reason),
            ("until", until),
            ("back", "/planning/versions/1"),
        ],
    )
    .await
}

/// Uploads a forecast from `source`; its snapshot id.
async fn version(p: &Plan, source: &str, base: i64) -> String {
    let to = upload(
        &p.planner,
        "forecast",
        source,
        "",
        &format!("forecast-{base}.csv"),
        good_forecast(p, base),
    )
    .await;
    snapshot_of(&to)
}

async fn overrides_of(b: &Browser, id: &str) -> Value {
    b.json("/api/planning/overrides", &[("id", id)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_wins_through_later_imports_until_it_expires() {
    let p = plan().await;
    let item = p.items[0].clone();
    let bucket = monday(1).to_string();
    let v1 = version(&p, "frepple", 10).await;

    // Bad input is refused with a sentence, and nothing is stored.
    let cases = [
        ("-5", "promotion", day(7), bucket.clone(), "negative"),
        ("ten", "promotion", day(7), bucket.clone(), "not a number"),
        ("50", " ", day(7), bucket.clone(), "reason is required"),
        (
            "50",
            "promotion",
            day(0),
            bucket.clone(),
            "not in the future",
        ),
        (
            "50",
            "promotion",
            day(7),
            "2001-01-01".to_string(),
            "No forecast version holds",
        ),
    ];
    for (quantity, reason, until, bucket, says) in cases {
        let r = override_bucket(&p.planner, &item, &bucket, quantity, reason, &until).await;
        let (key, message) = said(&r);
        assert_eq!(key, "error", "{quantity} {reason} {until}: {message}");
        assert!(message.contains(says), "{message} lacks {says}");
    }
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM planning_overrides")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let r = override_bucket(&p.planner, &item, &bucket, "99", "trade fair", &day(14)).await;
    let (key, message) = said(&r);
    assert_eq!(key, "saved", "{message}");
    let o = overrides_of(&p.planner, &v1).await;
    let overridden = o["overridden"].as_array().unwrap();
    assert_eq!(overridden.len(), 1, "{o}");
    assert_eq!(overridden[0]["imported"], "11");
    assert_eq!(overridden[0]["effective"], "99");
    assert_eq!(overridden[0]["reason"], "trade fair");
    assert_eq!(o["overrides"][0]["created_by"], "Pia Planner");
    assert_eq!(o["overrides"][0]["active"], true);
    // The version page shows the effective value beside the imported one, before hydration.
    let (status, html) = p.planner.page(&format!("/planning/versions/{v1}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-testid=\"effective-value\">99<"),
        "{html}"
    );
    assert!(html.contains("action=\"/planning/overrides\""));

    // A newer import leaves the override standing.
    let v2 = version(&p, "frepple", 20).await;
    let o = overrides_of(&p.planner, &v2).await;
    assert_eq!(o["overridden"][0]["imported"], "21", "{o}");
    assert_eq!(o["overridden"][0]["effective"], "99");

    // Once its last day has passed it no longer counts (kept, shown as expired).
    sqlx::query("UPDATE planning_overrides SET until = $1")
        .bind(day(-1))
        .execute(&p.app.db)
        .await
        .unwrap();
    let o = overrides_of(&p.planner, &v2).await;
    assert_eq!(o["overridden"], json!([]), "{o}");
    assert_eq!(o["overrides"][0]["active"], false);

    // Set again, then removed: the imported value counts again.
    let r = override_bucket(&p.planner, &item, &bucket, "0", "line stop", &day(3)).await;
    assert_eq!(said(&r).0, "saved");
    let o = overrides_of(&p.planner, &v2).await;
    assert_eq!(o["overridden"][0]["effective"], "0", "{o}");
    let id = o["overrides"][0]["id"].as_i64().unwrap();
    let r = p
        .planner
        .post(
            &format!("/planning/overrides/{id}/remove"),
            &[("back", "/planning/versions/2")],
        )
        .await;
    assert_eq!(said(&r).0, "saved");
    assert_eq!(overrides_of(&p.planner, &v2).await["overridden"], json!([]));
    let r = p
        .planner
        .post(&format!("/planning/overrides/{id}/remove"), &[])
        .await;
    assert!(said(&r).1.contains("removed already"));

    // A supplier and a buyer can neither set nor read overrides.
    for who in [ANA, BUYER] {
        let b = p.app.signed_in(who.0, who.1).await;
        let r = override_bucket(&b, &item, &bucket, "5", "mine", &day(3)).await;
        assert_eq!(r.status(), 403, "{}", who.0);
        let r = b.get("/api/planning/overrides", &[("id", &v2)]).await;
        assert_eq!(r.status(), 403, "{}", who.0);
    }
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM planning_overrides")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_page_charts_each_version_and_marks_the_override() {
    let p = plan().await;
    let item = p.items[0].clone();
    version(&p, "frepple", 10).await;
    version(&p, "frepple", 20).await;
    let bucket = monday(2).to_string();
    let r = p
        .planner
        .post(
            "/planning/overrides",
            &[
                ("item", item.as_str()),
                ("location", "WH"),
                ("bucket_start", bucket.as_str()),
                ("quantity", "77"),
                ("reason", "promotion"),
                ("until", day(10).as_str()),
                (
                    "back",
                    &format!("/planning/items/{item}?location=WH&saved=old"),
                ),
            ],
        )
        .await;
    assert_eq!(said(&r).0, "location", "the item page's location is kept");
    let to = r.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with(&format!(
            "/planning/items/{item}?location=WH&saved=Override"
        )),
        "{to}"
    );

    let h = p
        .planner
        .json("/api/planning/item", &[("item", &item), ("location", "WH")])
        .await;
    assert_eq!(h["buckets"].as_array().unwrap().len(), 4, "{h}");
    assert_eq!(h["versions"][0]["version"], 1);
    assert_eq!(h["versions"][0]["quantities"][1], "12");
    assert_eq!(h["versions"][1]["quantities"][1], "22");
    assert_eq!(h["overrides"][1], "77");
    assert_eq!(h["overrides"][0], Value::Null);

    let (status, html) = p
        .planner
        .page(&format!("/planning/items/{item}?location=WH"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"item-chart\""), "{html}");
    assert!(!html.contains(" style="), "the CSP forbids inline styles");
    assert!(html.contains("data-version=\"1\"") && html.contains("data-version=\"2\""));
    assert_eq!(html.matches("data-testid=\"override-mark\"").count(), 1);
    assert!(html.contains(&format!("override · {bucket}: 77")));
    // The same numbers as a table, the override's bucket counting 77.
    assert!(html.contains("data-testid=\"item-table\""));
    assert!(html.contains(&format!("<th scope=\"row\">{bucket}</th>")));
    assert!(
        html.contains("data-testid=\"item-effective\">77<"),
        "{html}"
    );

    // An item no version holds is a clear refusal, not an error of ours.
    let r = p
        .planner
        .get(
            "/api/planning/item",
            &[("item", "NOPE"), ("location", "WH")],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    // A supplier cannot see it.
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let r = ana
        .get("/api/planning/item", &[("item", &item), ("location", "WH")])
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_within_the_sources_limits_is_approved_by_rule() {
    let p = plan().await;
    let r = p
        .planner
        .post(
            "/planning/auto-approval",
            &[
                ("source", "frepple"),
                ("max_percent", "-3"),
                ("max_absolute", ""),
            ],
        )
        .await;
    let (key, message) = said(&r);
    assert_eq!(key, "error");
    assert!(message.contains("zero or more"), "{message}");
    let r = p
        .planner
        .post(
            "/planning/auto-approval",
            &[
                ("source", "frepple"),
                ("max_percent", "10"),
                ("max_absolute", ""),
            ],
        )
        .await;
    assert_eq!(said(&r).0, "saved", "{:?}", said(&r));

    // The first version has nothing approved to compare with: a planner approves it.
    let v1 = version(&p, "frepple", 100).await;
    let d = detail(&p.planner, &v1).await;
    assert_eq!(d["import"]["status"], "valid");
    let r = p
        .planner
        .post(
            &format!("/planning/versions/{v1}/approve"),
            &[("idempotency_key", "approve-v1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    // Every bucket within 10% (101..104 to 106..109): approved by the rule.
    let to = upload(
        &p.planner,
        "forecast",
        "frepple",
        "",
        "v2.csv",
        good_forecast(&p, 105),
    )
    .await;
    assert!(
        to.contains("approved+by+rule") || to.contains("approved%20by%20rule"),
        "{to}"
    );
    let v2 = snapshot_of(&to);
    let d = detail(&p.planner, &v2).await;
    assert_eq!(d["import"]["status"], "approved", "{d}");
    assert_eq!(d["import"]["approved_by"], "rule: within 10%");
    let (status, html) = p.planner.page("/planning").await;
    assert_eq!(status, 200);
    assert!(html.contains("approved by rule: within 10%"), "{html}");
    let (actor,): (Option<i64>,) = sqlx::query_as(
        "SELECT actor_user_id FROM audit_log WHERE action = 'planning_version_approved' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    assert_eq!(actor, None, "the rule, not a person, approved it");

    // Beyond the limits (106 to 151): it waits for a planner.
    let v3 = version(&p, "frepple", 150).await;
    assert_eq!(detail(&p.planner, &v3).await["import"]["status"], "valid");
    // Another source without a rule waits too, however small its change.
    let v4 = version(&p, "other", 106).await;
    assert_eq!(detail(&p.planner, &v4).await["import"]["status"], "valid");
    // A rule for every source applies to it.
    let r = p
        .planner
        .post(
            "/planning/auto-approval",
            &[("source", ""), ("max_percent", ""), ("max_absolute", "50")],
        )
        .await;
    assert_eq!(said(&r).0, "saved");
    let v5 = version(&p, "other", 107).await;
    let d = detail(&p.planner, &v5).await;
    assert_eq!(d["import"]["status"], "approved", "{d}");
    assert_eq!(d["import"]["approved_by"], "rule: within 50 units");
    let rules = p.planner.json("/api/planning/rules", &[]).await;
    assert_eq!(rules.as_array().unwrap().len(), 2, "{rules}");
}

/// The supply rows of an order line.
fn rows_of(export: &Value, line_odoo_id: i64) -> Vec<Value> {
    export["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["order_line_odoo_id"] == line_odoo_id)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supply_export_dates_rows_by_what_the_supplier_confirmed_and_announced() {
    let p = plan().await;
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let reader = Machine::new(
        &p.app,
        &token(&admin, "Planning system", &["planning_read"]).await,
    );
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let erp = Machine::new(&p.app, &token(&ana, "Gemini ERP", &ALL).await);

    let id = order_in_feed(&erp, "P00031").await;
    let (_, order) = erp.get(&format!("/orders/{id}")).await;
    let line = order["lines"][0].clone();
    let line_id = line["id"].as_i64().unwrap();
    let (line_odoo_id, planned, product_code): (i64, String, String) = sqlx::query_as(
        "SELECT odoo_id, date_planned, product_code FROM purchase_order_lines WHERE id = $1",
    )
    .bind(line_id)
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    let open: rust_decimal::Decimal = line["open_quantity"]
        .as_str()
        .map(|s| s.parse().unwrap())
        .unwrap_or_else(|| line["open_quantity"].to_string().parse().unwrap());
    assert!(open > rust_decimal::Decimal::ONE, "{line}");

    // Unanswered: the open quantity on Odoo's planned date.
    let (status, export) = reader.get("/planning/supply").await;
    assert_eq!(status, 200, "{export}");
    assert!(export["notes"][0].as_str().unwrap().contains("on_hand"));
    let rows = rows_of(&export, line_odoo_id);
    assert_eq!(rows.len(), 1, "{export}");
    assert_eq!(rows[0]["date_source"], "odoo_planned");
    assert_eq!(rows[0]["supply_type"], "open_purchase");
    assert_eq!(rows[0]["date"], planned[..10]);
    assert_eq!(rows[0]["item"], product_code);
    assert_eq!(rows[0]["order"], "P00031");
    assert!(!rows[0]["supplier"].as_str().unwrap().is_empty());
    if rows[0]["ship_to"] == "warehouse:1" {
        assert_eq!(rows[0]["location"], "WH", "the mapped planning location");
    }

    // The supplier accepts and announces one unit: that unit arrives as announced, the rest
    // on the date the supplier confirmed.
    let (status, body) = erp
        .post(
            &format!("/orders/{id}/lines/{line_id}/answer"),
            Some("answer-1"),
            json!({"answer": "accept"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let arrival = day(5);
    let (status, notice) = erp
        .post(
            "/shipment-notices",
            Some("asn-1"),
            json!({
                "ship_date": day(0),
                "expected_arrival": arrival,
                "carrier": "DHL",
                "tracking_number": "JD014600009",
                "package_count": 1,
                "lines": [{"line_id": line_id, "quantity": "1"}]
            }),
        )
        .await;
    assert_eq!(status, 201, "{notice}");
    let (_, export) = reader.get("/planning/supply?format=json").await;
    let rows = rows_of(&export, line_odoo_id);
    assert_eq!(rows.len(), 2, "{export}");
    let shipped = rows
        .iter()
        .find(|r| r["supply_type"] == "shipment_notice")
        .unwrap();
    assert_eq!(shipped["date_source"], "shipment_notice");
    assert_eq!(shipped["date"], arrival);
    assert_eq!(shipped["quantity"], "1");
    assert_eq!(shipped["shipment_notice"], notice["number"]);
    let rest = rows
        .iter()
        .find(|r| r["supply_type"] == "open_purchase")
        .unwrap();
    assert_eq!(rest["date_source"], "supplier_confirmed");
    assert_eq!(rest["date"], planned[..10]);
    assert_eq!(
        rest["quantity"]
            .as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        open - rust_decimal::Decimal::ONE
    );

    // An explicit item mapping names the planning item.
    let r = p
        .planner
        .post(
            "/planning/mapping/item",
            &[("item_code", "PLAN-ITEM-1"), ("product", &product_code)],
        )
        .await;
    assert_eq!(r.status(), 303);

    // CSV by the query or by Accept: a header of the documented columns.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/planning/supply", p.app.url))
        .bearer_auth(&reader.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "item,location,ship_to,product_odoo_id,supply_type,quantity,unit,date,date_source,order,order_line_odoo_id,supplier,shipment_notice,lead_time_days"
    );
    assert!(
        csv.lines().any(|l| l.starts_with("PLAN-ITEM-1,")
            && l.contains(",shipment_notice,")
            && l.contains(&format!(",{arrival},"))),
        "{csv}"
    );
    // The planning pages offer the same file.
    let r = p
        .planner
        .http
        .get(format!("{}/planning/supply.csv", p.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), csv);
    let r = ana
        .http
        .get(format!("{}/planning/supply.csv", p.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_staff_token_with_planning_read_reads_the_supply() {
    let p = plan().await;
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let writer = Machine::new(
        &p.app,
        &token(&admin, "Planning in", &["planning_write"]).await,
    );
    let (status, problem) = writer.get("/planning/supply").await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("planning:read"));
    let reader = Machine::new(
        &p.app,
        &token(&admin, "Planning out", &["planning_read"]).await,
    );
    assert_eq!(reader.get("/planning/supply?format=xml").await.0, 422);
    assert_eq!(reader.get("/planning/supply?format=csv").await.0, 200);

    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let erp = Machine::new(&p.app, &token(&ana, "Gemini ERP", &ALL).await);
    assert_eq!(erp.get("/planning/supply").await.0, 403);
    // A supplier's admin cannot give a token planning:read.
    let r = ana
        .post(
            "/api/tokens/create",
            &[
                ("supplier", ""),
                ("name", "Sneaky"),
                ("expires_in_days", ""),
                ("planning_read", "on"),
            ],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.text().await.unwrap().contains("staff's own systems"));
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/planning/supply", p.app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The export's columns are in the format's JSON Schema.
    let schema: Value = reqwest::get(format!("{}/api/v1/planning/schema", p.app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = &schema["$defs"]["supply_export"]["properties"]["rows"]["items"];
    assert!(row["properties"]["date_source"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "shipment_notice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supply_export_is_written_to_the_configured_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("exports");
    let to = folder.clone();
    let app = common::app::spawn_with(millrace::odoo_double::DoubleConfig::default(), move |s| {
        s.planning_supply_export_dir = Some(to);
        s.planning_supply_export_hours = 1;
    })
    .await;
    let file = folder.join("millrace-supply.csv");
    // Written at start, and again an hour later (not waited for here).
    common::app::eventually("the export file", || {
        let file = file.clone();
        async move { file.exists() }
    })
    .await;
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(csv.starts_with("item,location,ship_to,"), "{csv}");
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_hand_stock_of_the_planned_item_locations_is_read_from_odoo_per_warehouse() {
    let p = plan_with(|s| s.planning_on_hand_every = std::time::Duration::from_millis(300)).await;
    let (product,): (i64,) = sqlx::query_as(
        "SELECT product_odoo_id FROM purchase_order_lines WHERE product_code = $1 LIMIT 1",
    )
    .bind(&p.items[0])
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    p.app.double.with_env(|e| {
        e.on_hand.retain(|(p, _), _| *p != product);
        e.on_hand.insert((product, 1), 17.5);
        // Another warehouse's stock is not the planned location's.
        e.on_hand.insert((product, 2), 99.0);
    });
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let reader = Machine::new(
        &p.app,
        &token(&admin, "Planning out", &["planning_read"]).await,
    );
    // Nothing is planned yet: no on-hand rows.
    let (_, export) = reader.get("/planning/supply").await;
    assert!(!export["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["supply_type"] == "on_hand"));

    let id = version(&p, "tests", 10).await;
    let r = p
        .planner
        .post(&format!("/planning/versions/{id}/approve"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let mut rows = Vec::new();
    for _ in 0..100 {
        let (status, export) = reader.get("/planning/supply").await;
        assert_eq!(status, 200);
        rows = export["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["supply_type"] == "on_hand")
            .cloned()
            .collect();
        if rows.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 2, "one row per planned item-location: {rows:?}");
    let mine = rows
        .iter()
        .find(|r| r["item"] == p.items[0].as_str())
        .unwrap();
    assert_eq!(mine["location"], "WH");
    assert_eq!(mine["ship_to"], "warehouse:1");
    assert_eq!(mine["quantity"], "17.5");
    assert_eq!(mine["unit"], "Units");
    assert_eq!(mine["date"], Utc::now().date_naive().to_string());
    assert_eq!(mine["date_source"], "odoo_on_hand");
    assert_eq!(mine["order_line_odoo_id"], Value::Null);
    // Odoo's stock moves; the next read says so.
    p.app
        .double
        .with_env(|e| e.on_hand.insert((product, 1), 3.0));
    common::app::eventually("the new stock level", || async {
        let (_, export) = reader.get("/planning/supply").await;
        export["rows"].as_array().unwrap().iter().any(|r| {
            r["supply_type"] == "on_hand"
                && r["item"] == p.items[0].as_str()
                && r["quantity"] == "3"
        })
    })
    .await;
    let (status, _) = reader.get("/planning/supply?format=csv").await;
    assert_eq!(status, 200);
}

//! Demand planning's test helpers, shared by `tests/planning.rs` and
//! `tests/planning_supply.rs`: the demo with a planner signed in and a location mapped,
//! forecast files, the upload form.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use millrace::odoo_double::DoubleConfig;
use serde_json::Value;

use super::app::{spawn_with, TestApp};
use super::Browser;

pub const PLANNER: (&str, &str) = ("planner@millrace.example", "planner-demo-pass");
pub const ADMIN: (&str, &str) = ("admin@millrace.example", "admin-demo-pass");
pub const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");
pub const BUYER: (&str, &str) = ("buyer@millrace.example", "buyer-demo-pass");

pub const HEADER: &str =
    "item,location,bucket_start,bucket,quantity,unit,kind,safety_stock,min,max";

pub struct Plan {
    pub app: TestApp,
    pub planner: Browser,
    /// Two products the poller has seen, kept in Units: their internal references.
    pub items: [String; 2],
}

/// The app with the demo, a planner signed in, and the location `WH` mapped.
pub async fn plan() -> Plan {
    plan_with(|_| {}).await
}

/// [`plan`] with settings of the test's own.
pub async fn plan_with(adjust: impl FnOnce(&mut millrace::server::settings::Settings)) -> Plan {
    // A sealing key: scheduled pulls keep their credentials sealed.
    let app = spawn_with(DoubleConfig::default(), |s| {
        s.sealing = Some(
            millrace::server::secrets::SealingKeys::parse(
                &millrace::server::secrets::SealingKeys::generate(),
                &[],
            )
            .unwrap(),
        );
        adjust(s);
    })
    .await;
    let planner = app.signed_in(PLANNER.0, PLANNER.1).await;
    let mut codes: Vec<(String,)> = Vec::new();
    for _ in 0..100 {
        codes = sqlx::query_as(
            "SELECT DISTINCT product_code FROM purchase_order_lines WHERE uom = 'Units' AND product_code <> '' ORDER BY product_code LIMIT 2",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
        if codes.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        codes.len(),
        2,
        "the demo's order lines name products in Units"
    );
    let r = planner
        .post(
            "/planning/mapping/location",
            &[
                ("location_code", "WH"),
                ("warehouse_code", "WH"),
                ("warehouse_odoo_id", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    Plan {
        app,
        planner,
        items: [codes[0].0.clone(), codes[1].0.clone()],
    }
}

/// The Monday `weeks` weeks after this week's.
pub fn monday(weeks: i64) -> NaiveDate {
    let today = Utc::now().date_naive();
    today - Duration::days(i64::from(today.weekday().num_days_from_monday()))
        + Duration::weeks(weeks)
}

/// A forecast file: the header and one line per row.
pub fn forecast(rows: &[String]) -> Vec<u8> {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s.into_bytes()
}

/// Four weekly buckets of each item at WH.
pub fn good_forecast(p: &Plan, base: i64) -> Vec<u8> {
    let mut rows = Vec::new();
    for item in &p.items {
        for w in 1..=4 {
            rows.push(format!(
                "{item},WH,{},week,{},Units,statistical,5,2,40",
                monday(w),
                base + w
            ));
        }
    }
    forecast(&rows)
}

/// Uploads a file on the page; the redirect's target.
pub async fn upload(
    b: &Browser,
    kind: &str,
    source: &str,
    snapshot_id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> String {
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", b.csrf.clone())
        .text("kind", kind.to_string())
        .text("source", source.to_string())
        .text("snapshot_id", snapshot_id.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let r = post_upload(b, form).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Posts a multipart form to the upload.
pub async fn post_upload(b: &Browser, form: reqwest::multipart::Form) -> reqwest::Response {
    b.http
        .post(format!("{}/planning/imports", b.base))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The snapshot id a redirect to its page names.
pub fn snapshot_of(location: &str) -> String {
    location
        .strip_prefix("/planning/versions/")
        .and_then(|r| r.split('?').next())
        .unwrap_or_else(|| panic!("not a snapshot page: {location}"))
        .to_string()
}

pub async fn detail(b: &Browser, id: &str) -> Value {
    b.json("/api/planning/version", &[("id", id), ("threshold", "")])
        .await
}

/// What the buyers see of planning data: the exceptions screen's Planning category.
pub async fn planning_exceptions(b: &Browser, supplier: &str) -> Vec<Value> {
    let v = b
        .json(
            "/api/buyer/exceptions",
            &[("supplier", supplier), ("buyer", "")],
        )
        .await;
    v["planning"].as_array().cloned().unwrap_or_default()
}

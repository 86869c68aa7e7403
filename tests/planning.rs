//! Black-box tests of demand planning (issue 14, intake and versions): the planner role and
//! who is kept out, the intake pipeline's validation rules (one test per rule, files built
//! here), idempotent re-sends, mapping fixes applied without a new upload, approval, and
//! the API intake with token scopes. SQLite by default, PostgreSQL with
//! `MILLRACE_TEST_DATABASE=postgres`.

mod common;

use chrono::{Datelike, Duration, Utc};
use common::app::TestApp;
use common::planning::*;
use common::Browser;
use serde_json::Value;

/// Uploads `file` and expects it rejected with a problem at `row` and `column` whose
/// sentence contains `says`; the snapshot's detail.
async fn rejected(
    p: &Plan,
    file: Vec<u8>,
    name: &str,
    row: i64,
    column: &str,
    says: &str,
) -> Value {
    let to = upload(&p.planner, "forecast", "tests", "", name, file).await;
    let id = snapshot_of(&to);
    let d = detail(&p.planner, &id).await;
    assert_eq!(d["import"]["status"], "rejected", "{d}");
    assert_eq!(d["import"]["version"], Value::Null);
    let problems = d["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|e| e["row"] == row
            && e["column"] == column
            && e["problem"].as_str().unwrap().contains(says)
            && !e["fix"].as_str().unwrap().is_empty()),
        "expected row {row} {column}: {says} in {problems:#?}"
    );
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM planning_forecast_rows")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(rows, 0, "a rejected snapshot applies nothing");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_forecast_becomes_a_version_a_planner_approves_once() {
    let p = plan().await;
    let to = upload(
        &p.planner,
        "forecast",
        "frepple",
        "S-1",
        "forecast.csv",
        good_forecast(&p, 10),
    )
    .await;
    assert!(to.contains("saved="), "{to}");
    let id = snapshot_of(&to);
    let d = detail(&p.planner, &id).await;
    assert_eq!(d["import"]["status"], "valid", "{d}");
    assert_eq!(d["import"]["version"], 1);
    assert_eq!(d["import"]["row_count"], 8);
    assert_eq!(d["import"]["item_count"], 2);
    assert_eq!(d["import"]["sent_by"], "Pia Planner");
    // Nothing approved before: every bucket is new.
    assert_eq!(d["changed_count"], 8);
    let list = p.planner.json("/api/planning/versions", &[]).await;
    assert_eq!(list[0]["id"].to_string(), id);

    let approve = |key: &'static str| {
        let b = &p.planner;
        let path = format!("/planning/versions/{id}/approve");
        async move {
            let r = b.post(&path, &[("idempotency_key", key)]).await;
            assert_eq!(r.status(), 303);
            r.headers()["location"].to_str().unwrap().to_string()
        }
    };
    assert!(approve("k-1").await.contains("is+approved"));
    assert!(approve("k-2").await.contains("approved+already"));
    let d = detail(&p.planner, &id).await;
    assert_eq!(d["import"]["status"], "approved");
    assert_eq!(d["import"]["approved_by"], "Pia Planner");
    let (audits,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'planning_version_approved'")
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!(audits, 1, "approved once, audited once");

    // The next version is compared with the approved one: one bucket changed a lot.
    let mut file = String::from_utf8(good_forecast(&p, 10)).unwrap();
    let first_row = format!("{},WH,{},week,11,", p.items[0], monday(1));
    assert!(file.contains(&first_row));
    file = file.replace(
        &first_row,
        &format!("{},WH,{},week,30,", p.items[0], monday(1)),
    );
    let to = upload(
        &p.planner,
        "forecast",
        "frepple",
        "S-2",
        "forecast.csv",
        file.into_bytes(),
    )
    .await;
    let d2 = detail(&p.planner, &snapshot_of(&to)).await;
    assert_eq!(d2["import"]["version"], 2);
    assert_eq!(d2["previous_version"], 1);
    assert_eq!(d2["changed_count"], 1, "{d2}");
    let change = &d2["diff"][0];
    assert_eq!(change["previous"], "11");
    assert_eq!(change["now"], "30");
    assert_eq!(change["large"], true);
    // A version is approved only by a planner's action.
    assert_eq!(d2["import"]["status"], "valid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_file_or_snapshot_id_sent_again_makes_no_second_version() {
    let p = plan().await;
    let first = snapshot_of(
        &upload(
            &p.planner,
            "forecast",
            "frepple",
            "",
            "a.csv",
            good_forecast(&p, 10),
        )
        .await,
    );
    let again = upload(
        &p.planner,
        "forecast",
        "frepple",
        "",
        "b.csv",
        good_forecast(&p, 10),
    )
    .await;
    assert_eq!(snapshot_of(&again), first);
    assert!(again.contains("received+before"), "{again}");
    // The same source snapshot id with other content: the snapshot received before.
    let s1 = snapshot_of(
        &upload(
            &p.planner,
            "forecast",
            "frepple",
            "RUN-7",
            "c.csv",
            good_forecast(&p, 20),
        )
        .await,
    );
    let s1_again = snapshot_of(
        &upload(
            &p.planner,
            "forecast",
            "frepple",
            "RUN-7",
            "d.csv",
            good_forecast(&p, 30),
        )
        .await,
    );
    assert_eq!(s1, s1_again);
    let (versions, rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM planning_imports WHERE version IS NOT NULL), (SELECT COUNT(*) FROM planning_forecast_rows)",
    )
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    assert_eq!((versions, rows), (2, 16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_item_is_listed_with_its_rows_and_a_mapping_fix_applies_without_a_new_upload() {
    let p = plan().await;
    let mut rows = Vec::new();
    for w in 1..=3 {
        rows.push(format!(
            "PLAN-CHAIR,WH,{},week,5,Units,consensus,,,",
            monday(w)
        ));
    }
    rows.push(format!(
        "{},WH,{},week,5,Units,consensus,,,",
        p.items[1],
        monday(1)
    ));
    let d = rejected(&p, forecast(&rows), "f.csv", 2, "item", "No Odoo product").await;
    let id = d["import"]["id"].to_string();
    assert_eq!(d["import"]["error_count"], 3);
    let mapping = p.planner.json("/api/planning/mapping", &[]).await;
    assert_eq!(mapping["latest_rejected"]["id"].to_string(), id);
    assert_eq!(mapping["unmapped"][0]["what"], "item");
    assert_eq!(mapping["unmapped"][0]["code"], "PLAN-CHAIR");
    assert_eq!(mapping["unmapped"][0]["row_count"], 3);

    // The report downloads as CSV.
    let r = p
        .planner
        .get(&format!("/planning/imports/{id}/report.csv"), &[])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("row,column,value,problem,fix\n"), "{csv}");
    assert!(csv.contains("2,item,PLAN-CHAIR,"), "{csv}");

    let r = p
        .planner
        .post(
            "/planning/mapping/item",
            &[("item_code", "PLAN-CHAIR"), ("product", &p.items[0])],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().contains("saved="));
    let r = p
        .planner
        .post(&format!("/planning/imports/{id}/validate"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let d = detail(&p.planner, &id).await;
    assert_eq!(d["import"]["status"], "valid", "{d}");
    assert_eq!(d["import"]["version"], 1);
    assert_eq!(d["problems"].as_array().unwrap().len(), 0);
    let mapping = p.planner.json("/api/planning/mapping", &[]).await;
    assert_eq!(mapping["latest_rejected"], Value::Null);
    let (product,): (i64,) = sqlx::query_as("SELECT DISTINCT product_odoo_id FROM planning_forecast_rows WHERE item_code = 'PLAN-CHAIR'")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    let (expected,): (i64,) = sqlx::query_as(
        "SELECT MAX(product_odoo_id) FROM purchase_order_lines WHERE product_code = $1",
    )
    .bind(&p.items[0])
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    assert_eq!(product, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_location_is_refused() {
    let p = plan().await;
    rejected(
        &p,
        forecast(&[format!(
            "{},NOWHERE,{},week,5,Units,statistical,,,",
            p.items[0],
            monday(1)
        )]),
        "f.csv",
        2,
        "location",
        "No warehouse",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_unit_is_refused_and_a_mapped_unit_converts_by_its_factor() {
    let p = plan().await;
    let file = forecast(&[format!(
        "{},WH,{},week,2.5,DOZ,statistical,1,,",
        p.items[0],
        monday(1)
    )]);
    let d = rejected(&p, file, "f.csv", 2, "unit", "no unit mapping").await;
    let id = d["import"]["id"].to_string();
    let r = p
        .planner
        .post(
            "/planning/mapping/unit",
            &[
                ("unit_code", "DOZ"),
                ("uom_name", "Units"),
                ("factor", "12"),
            ],
        )
        .await;
    assert!(r.headers()["location"].to_str().unwrap().contains("saved="));
    p.planner
        .post(&format!("/planning/imports/{id}/validate"), &[])
        .await;
    let (q, source, safety): (String, String, String) = sqlx::query_as(
        "SELECT quantity, source_quantity, safety_stock FROM planning_forecast_rows",
    )
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    assert_eq!(
        (q.as_str(), source.as_str(), safety.as_str()),
        ("30", "2.5", "12")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_mapped_to_another_odoo_unit_than_the_products_cannot_convert() {
    let p = plan().await;
    let r = p
        .planner
        .post(
            "/planning/mapping/unit",
            &[("unit_code", "KGS"), ("uom_name", "kg"), ("factor", "1")],
        )
        .await;
    assert!(r.headers()["location"].to_str().unwrap().contains("saved="));
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{},week,5,KGS,statistical,,,",
            p.items[0],
            monday(1)
        )]),
        "f.csv",
        2,
        "unit",
        "cannot convert",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safety_stock_above_the_max_is_refused_before_odoo_would_refuse_the_rule() {
    let p = plan().await;
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{},week,5,Units,statistical,50,,40",
            p.items[0],
            monday(1)
        )]),
        "f.csv",
        2,
        "safety_stock",
        "above the max",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_quantity_is_refused() {
    let p = plan().await;
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{},week,-4,Units,statistical,,,",
            p.items[0],
            monday(1)
        )]),
        "f.csv",
        2,
        "quantity",
        "negative",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quantity_that_is_not_a_number_is_refused() {
    let p = plan().await;
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{},week,lots,Units,statistical,,,",
            p.items[0],
            monday(1)
        )]),
        "f.csv",
        2,
        "quantity",
        "not a number",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_that_does_not_start_on_monday_is_refused_with_the_monday_to_use() {
    let p = plan().await;
    let thursday = monday(2) + Duration::days(3);
    let d = rejected(
        &p,
        forecast(&[format!(
            "{},WH,{thursday},week,5,Units,statistical,,,",
            p.items[0]
        )]),
        "f.csv",
        2,
        "bucket_start",
        "start of a week",
    )
    .await;
    assert!(
        d["problems"][0]["fix"]
            .as_str()
            .unwrap()
            .contains(&monday(2).to_string()),
        "{d}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_that_does_not_start_on_the_first_is_refused() {
    let p = plan().await;
    let next_month = (Utc::now().date_naive().with_day(1).unwrap() + Duration::days(40))
        .with_day(15)
        .unwrap();
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{next_month},month,5,Units,statistical,,,",
            p.items[0]
        )]),
        "f.csv",
        2,
        "bucket_start",
        "start of a month",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_key_names_the_first_row() {
    let p = plan().await;
    let row = format!(
        "{},WH,{},week,5,Units,statistical,,,",
        p.items[0],
        monday(1)
    );
    let d = rejected(
        &p,
        forecast(&[row.clone(), row]),
        "f.csv",
        3,
        "bucket_start",
        "Row 2 has the same",
    )
    .await;
    assert_eq!(d["import"]["error_count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_of_two_lengths_for_one_item_and_location_overlap() {
    let p = plan().await;
    let rows = [
        format!(
            "{},WH,{},week,5,Units,statistical,,,",
            p.items[0],
            monday(1)
        ),
        format!(
            "{},WH,{},day,1,Units,statistical,,,",
            p.items[0],
            monday(1) + Duration::days(1)
        ),
    ];
    rejected(&p, forecast(&rows), "f.csv", 3, "bucket", "overlap").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_beyond_the_horizon_is_refused() {
    let p = plan().await;
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{},week,5,Units,statistical,,,",
            p.items[0],
            monday(52 * 5)
        )]),
        "f.csv",
        2,
        "bucket_start",
        "horizon",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_in_another_format_is_refused() {
    let p = plan().await;
    let m = monday(1);
    rejected(
        &p,
        forecast(&[format!(
            "{},WH,{},week,5,Units,statistical,,,",
            p.items[0],
            m.format("%d/%m/%Y")
        )]),
        "f.csv",
        2,
        "bucket_start",
        "not a date",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_utf8_is_refused_naming_the_row() {
    let p = plan().await;
    let mut file = forecast(&[format!(
        "{},WH,{},week,5,Units,statistical,,,",
        p.items[0],
        monday(1)
    )]);
    // "Lager-Süd" in Latin-1 as the location.
    let at = file.windows(3).position(|w| w == b",WH").unwrap() + 1;
    file.splice(at..at + 2, b"S\xfcd".iter().copied());
    rejected(&p, file, "latin1.csv", 2, "location", "not UTF-8").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_column_is_refused_before_any_row() {
    let p = plan().await;
    let file = format!(
        "item,location,bucket_start,bucket,quantity,kind\n{},WH,{},week,5,statistical\n",
        p.items[0],
        monday(1)
    );
    rejected(
        &p,
        file.into_bytes(),
        "f.csv",
        1,
        "unit",
        "column “unit” is missing",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_value_and_an_unknown_kind_are_refused() {
    let p = plan().await;
    let rows = [
        format!("{},WH,{},week,,Units,statistical,,,", p.items[0], monday(1)),
        format!("{},WH,{},week,3,Units,guess,,,", p.items[0], monday(2)),
    ];
    let d = rejected(&p, forecast(&rows), "f.csv", 2, "quantity", "missing").await;
    assert!(
        d["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["row"] == 3 && e["column"] == "kind"),
        "{d}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rows_are_validated_like_csv_and_unreadable_json_is_refused() {
    let p = plan().await;
    let json = serde_json::json!({"rows": [
        {"item": p.items[0], "location": "WH", "bucket_start": monday(1).to_string(), "bucket": "week", "quantity": 7.5, "unit": "Units", "kind": "consensus"},
        {"item": p.items[1], "location": "WH", "bucket_start": monday(1).to_string(), "bucket": "week", "quantity": -1, "unit": "Units", "kind": "consensus"}
    ]});
    rejected(
        &p,
        serde_json::to_vec(&json).unwrap(),
        "f.json",
        2,
        "quantity",
        "negative",
    )
    .await;
    rejected(
        &p,
        b"[{\"item\": \"x\",".to_vec(),
        "broken.json",
        1,
        "",
        "not readable JSON",
    )
    .await;
    let good = serde_json::json!([
        {"item": p.items[0], "location": "WH", "bucket_start": monday(1).to_string(), "bucket": "week", "quantity": "7.5", "unit": "Units", "kind": "consensus", "safety_stock": 2}
    ]);
    let to = upload(
        &p.planner,
        "forecast",
        "tests",
        "",
        "good.json",
        serde_json::to_vec(&good).unwrap(),
    )
    .await;
    let d = detail(&p.planner, &snapshot_of(&to)).await;
    assert_eq!(d["import"]["status"], "valid", "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_profile_reads_another_tools_columns_dates_and_decimal_commas() {
    let p = plan().await;
    let r = p
        .planner
        .post(
            "/planning/mapping/profile",
            &[
                ("source", "acme-aps"),
                ("columns", "Artikel=item\nLager=location\nWoche=bucket_start\nRaster=bucket\nMenge=quantity\nEinheit=unit\nArt=kind"),
                ("date_format", "%d.%m.%Y"),
                ("decimal_separator", ","),
                ("delimiter", ";"),
            ],
        )
        .await;
    assert!(
        r.headers()["location"].to_str().unwrap().contains("saved="),
        "{:?}",
        r.headers()
    );
    let file = format!(
        "Artikel;Lager;Woche;Raster;Menge;Einheit;Art\n{};WH;{};week;1.250,5;Units;statistical\n",
        p.items[0],
        monday(1).format("%d.%m.%Y")
    );
    let to = upload(
        &p.planner,
        "forecast",
        "acme-aps",
        "",
        "export.csv",
        file.into_bytes(),
    )
    .await;
    let d = detail(&p.planner, &snapshot_of(&to)).await;
    assert_eq!(d["import"]["status"], "valid", "{d}");
    let (q, start): (String, String) =
        sqlx::query_as("SELECT quantity, bucket_start FROM planning_forecast_rows")
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!((q, start), ("1250.5".to_string(), monday(1).to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supply_recommendations_are_validated_and_versioned_apart_from_forecasts() {
    let p = plan().await;
    let need_by = monday(3);
    let supply = |file: String| async {
        let to = upload(
            &p.planner,
            "supply",
            "frepple",
            "",
            "supply.csv",
            file.into_bytes(),
        )
        .await;
        detail(&p.planner, &snapshot_of(&to)).await
    };
    let header = "item,location,quantity,unit,need_by,vendor,source_id";
    let item = &p.items[0];
    let d = supply(format!(
        "{header}\n{item},WH,40,Units,{need_by},Gemini Furniture,R-1\n{item},WH,10,Units,{need_by},,R-1\n"
    ))
    .await;
    assert_eq!(d["import"]["status"], "rejected");
    assert_eq!(d["problems"][0]["column"], "source_id");
    assert_eq!(d["problems"][0]["row"], 3);
    let d = supply(format!(
        "{header}\n{item},WH,40,Units,{need_by},Gemini Furniture,R-1\n"
    ))
    .await;
    assert_eq!(d["import"]["kind"], "supply");
    assert_eq!(d["import"]["version"], 1);
    assert_eq!(d["diff"][0]["now"], "40");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppliers_and_buyers_reach_no_planning_route_and_admins_make_planners() {
    let p = plan().await;
    let to = upload(
        &p.planner,
        "forecast",
        "frepple",
        "",
        "f.csv",
        good_forecast(&p, 1),
    )
    .await;
    let id = snapshot_of(&to);
    for who in [ANA, BUYER] {
        let b = p.app.signed_in(who.0, who.1).await;
        for page in [
            "/planning",
            "/planning/mapping",
            &format!("/planning/versions/{id}"),
        ] {
            let r = b.get(page, &[]).await;
            assert_eq!(r.status(), 403, "{} GET {page}", who.0);
        }
        for api in ["/api/planning/versions", "/api/planning/mapping"] {
            assert_eq!(b.get(api, &[]).await.status(), 403, "{} {api}", who.0);
        }
        assert_eq!(
            b.get("/api/planning/version", &[("id", &id), ("threshold", "")])
                .await
                .status(),
            403
        );
        assert_eq!(
            b.get(&format!("/planning/imports/{id}/report.csv"), &[])
                .await
                .status(),
            403
        );
        for (path, form) in [
            (format!("/planning/versions/{id}/approve"), vec![]),
            (format!("/planning/imports/{id}/validate"), vec![]),
            (
                "/planning/mapping/location".to_string(),
                vec![("location_code", "X"), ("warehouse_code", "WH")],
            ),
        ] {
            let r = b.post(&path, &form).await;
            assert_eq!(r.status(), 403, "{} POST {path}", who.0);
        }
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", b.csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(good_forecast(&p, 2)).file_name("f.csv"),
            );
        let r = post_upload(&b, form).await;
        assert_eq!(r.status(), 403, "{} upload", who.0);
    }
    let (status, locations): (String, i64) = sqlx::query_as(
        "SELECT (SELECT status FROM planning_imports WHERE id = $1), (SELECT COUNT(*) FROM planning_locations)",
    )
    .bind(id.parse::<i64>().unwrap())
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), locations),
        ("valid", 1),
        "nothing changed"
    );
    // A multipart upload without the session's token is refused.
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", "forged")
        .part(
            "file",
            reqwest::multipart::Part::bytes(good_forecast(&p, 3)).file_name("f.csv"),
        );
    let r = post_upload(&p.planner, form).await;
    assert_eq!(r.status(), 403);

    // An admin invites a planner; the planner may plan.
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let team = admin.json("/api/team/list", &[("supplier", "")]).await;
    assert!(
        team["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r[0] == "planner"),
        "{team}"
    );
    let r = admin
        .post(
            "/api/team/invite",
            &[
                ("supplier", ""),
                ("email", "pat@millrace.example"),
                ("display_name", "Pat Plan"),
                ("role", "planner"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (role,): (String,) =
        sqlx::query_as("SELECT role FROM users WHERE email = 'pat@millrace.example'")
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!(role, "planner");
    // The planner page itself renders for a planner.
    let r = p
        .planner
        .http
        .get(format!("{}/planning", p.planner.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Creates a staff token (as the admin) with the ticked scopes; the secret.
async fn staff_token(admin: &Browser, scopes: &[&str]) -> String {
    let mut form = vec![
        ("supplier", ""),
        ("name", "Planning system"),
        ("expires_in_days", ""),
    ];
    form.extend(scopes.iter().map(|s| (*s, "on")));
    let r = admin.post("/api/tokens/create", &form).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    v["secret"].as_str().unwrap().to_string()
}

async fn send(
    app: &TestApp,
    token: &str,
    key: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/planning/forecasts{query}", app.url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body);
    if !key.is_empty() {
        req = req.header("idempotency-key", key);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planning_system_sends_snapshots_with_a_planning_write_token() {
    let p = plan().await;
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let token = staff_token(&admin, &["planning_write"]).await;
    let reader = staff_token(&admin, &["orders_read"]).await;

    let schema: Value = reqwest::get(format!("{}/api/v1/planning/schema", p.app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(schema["$defs"]["forecast_row"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "bucket_start"));
    assert!(schema["$defs"]["supply_row"]["properties"]["source_id"].is_object());

    let r = send(&p.app, &reader, "k-0", "", "text/csv", good_forecast(&p, 1)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "scope_missing");
    let r = send(&p.app, &token, "", "", "text/csv", good_forecast(&p, 1)).await;
    assert_eq!(r.status(), 400, "no Idempotency-Key");

    // The same request twice: sent, then retried with its key.
    let first = || {
        send(
            &p.app,
            &token,
            "k-1",
            "?source=frepple&snapshot_id=RUN-1",
            "text/csv",
            good_forecast(&p, 1),
        )
    };
    let r = first().await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["status"].as_str(),
            v["version"].as_i64(),
            v["rows"].as_i64(),
            v["already"].as_bool()
        ),
        (Some("valid"), Some(1), Some(8), Some(false))
    );
    // A retry with its key: the first answer again.
    let r = first().await;
    assert_eq!(r.status(), 201);
    // The same snapshot id under a new key: no second version.
    let r = send(
        &p.app,
        &token,
        "k-2",
        "?source=frepple&snapshot_id=RUN-1",
        "text/csv",
        good_forecast(&p, 2),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["already"].as_bool(), v["version"].as_i64()),
        (Some(true), Some(1))
    );
    // The same key with another body is refused.
    let r = send(
        &p.app,
        &token,
        "k-1",
        "?source=frepple&snapshot_id=RUN-9",
        "text/csv",
        good_forecast(&p, 5),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "idempotency_key_reused"
    );

    // JSON, rejected: the problems in the answer.
    let bad = serde_json::json!([{"item": "NOPE", "location": "WH", "bucket_start": monday(1).to_string(), "bucket": "week", "quantity": 1, "unit": "Units", "kind": "consensus"}]);
    let r = send(
        &p.app,
        &token,
        "k-3",
        "",
        "application/json",
        serde_json::to_vec(&bad).unwrap(),
    )
    .await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "snapshot_rejected");
    assert_eq!(v["errors"][0]["row"], 1);
    assert_eq!(v["errors"][0]["column"], "item");
    // The token's technical user is named as the sender.
    let list = p.planner.json("/api/planning/versions", &[]).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|i| i["sent_by"] == "Planning system (API)"),
        "{list}"
    );

    // A supplier's admin cannot give a token planning:write.
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let r = ana
        .post(
            "/api/tokens/create",
            &[
                ("supplier", ""),
                ("name", "ERP"),
                ("planning_write", "on"),
                ("expires_in_days", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_unmapped_and_stale_planning_data_reach_the_buyers_exceptions_digest_and_metrics() {
    let p = plan().await;
    let buyer = p.app.signed_in(BUYER.0, BUYER.1).await;
    assert!(
        planning_exceptions(&buyer, "").await.is_empty(),
        "nothing yet"
    );

    // A version, then a refused file from the same source naming an item nobody mapped.
    let to = upload(
        &p.planner,
        "forecast",
        "frepple",
        "W1",
        "w1.csv",
        good_forecast(&p, 10),
    )
    .await;
    let version = snapshot_of(&to);
    let bad = forecast(&[
        format!("NOPE-1,WH,{},week,5,Units,statistical,,,", monday(1)),
        format!("NOPE-1,WH,{},week,6,Units,statistical,,,", monday(2)),
        format!(
            "{},WH,{},week,-3,Units,statistical,,,",
            p.items[0],
            monday(1)
        ),
    ]);
    let to = upload(&p.planner, "forecast", "frepple", "W2", "w2.csv", bad).await;
    let refused = snapshot_of(&to);
    let found = planning_exceptions(&buyer, "").await;
    let kinds: Vec<&str> = found.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["import_rejected", "unmapped"], "{found:#?}");
    assert_eq!(found[0]["subject"], "forecast from frepple");
    // A buyer is not linked to the planners' pages; a planner is.
    assert_eq!(found[0]["link"], "");
    let planners = planning_exceptions(&p.planner, "").await;
    assert_eq!(planners[0]["link"], format!("/planning/versions/{refused}"));
    assert_eq!(planners[1]["link"], "/planning/mapping");
    assert!(
        found[0]["detail"]
            .as_str()
            .unwrap()
            .contains("w2.csv was refused with 3 problems"),
        "{found:#?}"
    );
    assert_eq!(found[1]["link"], "");
    assert!(
        found[1]["detail"]
            .as_str()
            .unwrap()
            .contains("1 item not mapped (2 rows): NOPE-1"),
        "{found:#?}"
    );
    // Not any one supplier's: a supplier filter leaves it out.
    assert!(planning_exceptions(&buyer, "1").await.is_empty());

    // The CSV and the digest carry it.
    let csv = buyer
        .http
        .get(format!("{}/buyer/exceptions.csv", p.app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("planning,,,forecast from frepple (import_rejected): w2.csv was refused"),
        "{csv}"
    );
    let sent = millrace::server::notify::send_digests(
        &p.app.db,
        millrace::server::exceptions::Windows {
            ack_hours: 24,
            planning_refresh_hours: 192,
        },
        "http://portal.example",
        chrono::Duration::hours(24),
        None,
    )
    .await
    .unwrap();
    assert!(sent >= 1);
    let (body,): (String,) = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(BUYER.0)
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    assert!(body.contains("Planning (2)"), "{body}");
    assert!(
        body.contains("forecast from frepple: 1 item not mapped"),
        "{body}"
    );

    // A fixed file clears the refusal; a version nine days old is stale (refresh: 8 days).
    let to = upload(
        &p.planner,
        "forecast",
        "frepple",
        "W2",
        "w2.csv",
        good_forecast(&p, 20),
    )
    .await;
    assert_eq!(
        detail(&p.planner, &snapshot_of(&to)).await["import"]["status"],
        "valid"
    );
    assert!(planning_exceptions(&buyer, "").await.is_empty());
    let nine_days_ago = (Utc::now() - Duration::days(9))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    sqlx::query("UPDATE planning_imports SET sent_at = $1")
        .bind(&nine_days_ago)
        .execute(&p.app.db)
        .await
        .unwrap();
    let found = planning_exceptions(&buyer, "").await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["kind"], "stale");
    assert!(
        found[0]["detail"]
            .as_str()
            .unwrap()
            .contains("(v2) is 9 days old; a refresh is expected every 8 days"),
        "{found:#?}"
    );
    let _ = version;

    // Metrics: import duration and rows by outcome, data age, the job queue per kind.
    let metrics = reqwest::get(format!("{}/metrics", p.app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "millrace_planning_import_duration_seconds_count{kind=\"forecast\",status=\"rejected\"}",
        "millrace_planning_import_rows_total{kind=\"forecast\",status=\"valid\"}",
        "millrace_planning_data_age_seconds{kind=\"forecast\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} in {metrics}");
    }
    let age: f64 = metrics
        .lines()
        .find(|l| l.starts_with("millrace_planning_data_age_seconds{kind=\"forecast\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(age >= 9.0 * 86400.0 - 60.0, "{age}");

    // Suppliers do not see the buyers' exceptions at all.
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    let r = ana
        .get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    assert_eq!(r.status(), 403);
}

/// A planning system publishing one file behind basic authentication: what it serves, and
/// how many requests reached it.
struct Publisher {
    url: String,
    file: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn publisher(user: &'static str, password: &'static str) -> Publisher {
    use axum::http::{HeaderMap, StatusCode};
    use base64::Engine;
    let file = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (f, h) = (file.clone(), hits.clone());
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let app = axum::Router::new().route(
        "/export/forecast.csv",
        axum::routing::get(move |headers: HeaderMap| {
            let (f, h, expected) = (f.clone(), h.clone(), expected.clone());
            async move {
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&expected) {
                    return (StatusCode::UNAUTHORIZED, Vec::new());
                }
                (StatusCode::OK, f.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/export/forecast.csv",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Publisher { url, file, hits }
}

/// The pull's last outcome once it has one after `since_attempt` (its previous attempt).
async fn pulled(
    app: &TestApp,
    source: &str,
    since_attempt: Option<String>,
) -> (String, String, Option<i64>) {
    for _ in 0..200 {
        let row: Option<(Option<String>, Option<String>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT last_attempt_at, last_status, last_message, last_import_id FROM planning_pulls WHERE source = $1",
        )
        .bind(source)
        .fetch_optional(&app.db)
        .await
        .unwrap();
        if let Some((Some(at), Some(status), message, import)) = row {
            if Some(&at) != since_attempt.as_ref() && status != "running" {
                return (status, message.unwrap_or_default(), import);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let row: Option<(String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT next_due_at, last_attempt_at, last_status, last_message FROM planning_pulls WHERE source = $1",
    )
    .bind(source)
    .fetch_optional(&app.db)
    .await
    .unwrap();
    panic!("the pull of {source} did not run: {row:?}");
}

async fn last_attempt(app: &TestApp, source: &str) -> Option<String> {
    let (at,): (Option<String>,) =
        sqlx::query_as("SELECT last_attempt_at FROM planning_pulls WHERE source = $1")
            .bind(source)
            .fetch_one(&app.db)
            .await
            .unwrap();
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_pull_fetches_the_published_file_and_the_same_content_makes_no_second_version()
{
    let p = plan().await;
    let site = publisher("millrace", "s3cret-pass").await;
    *site.file.lock().unwrap() = good_forecast(&p, 10);
    let admin = p.app.signed_in(ADMIN.0, ADMIN.1).await;
    let pull_form = |secret: &'static str, every: &'static str| {
        vec![
            ("source", "aps-nightly"),
            ("kind", "forecast"),
            ("url", site.url.as_str()),
            ("auth", "basic"),
            ("username", "millrace"),
            ("secret", secret),
            ("every_hours", every),
            ("window_start", ""),
            ("window_end", ""),
        ]
    };

    // A planner sees pulls but does not set them up; bad input says what to fix.
    let r = p
        .planner
        .post("/planning/pulls", &pull_form("s3cret-pass", "24"))
        .await;
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("Only+an+admin"),
        "{:?}",
        r.headers()
    );
    let r = admin
        .post("/planning/pulls", &pull_form("s3cret-pass", "0"))
        .await;
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("1+to+720"));
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM planning_pulls")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing stored from refused forms");

    // Set up: due at once; the file becomes a version sent by the pull's own user.
    let r = admin
        .post("/planning/pulls", &pull_form("s3cret-pass", "24"))
        .await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("is+set+up"));
    let (status, message, import) = pulled(&p.app, "aps-nightly", None).await;
    assert_eq!(status, "valid", "{message}");
    let d = detail(&p.planner, &import.unwrap().to_string()).await;
    assert_eq!(d["import"]["version"], 1);
    assert_eq!(d["import"]["source"], "aps-nightly");
    assert_eq!(d["import"]["sent_by"], "aps-nightly (scheduled pull)");
    let (sealed,): (String,) = sqlx::query_as("SELECT secret_sealed FROM planning_pulls")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert!(!sealed.contains("s3cret"), "the password is sealed at rest");
    let (next,): (String,) = sqlx::query_as("SELECT next_due_at FROM planning_pulls")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert!(
        next > (Utc::now() + Duration::hours(23))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        "next in 24 h: {next}"
    );

    // Pulled again now (a planner may ask): the same content is no second version.
    let id: (i64,) = sqlx::query_as("SELECT id FROM planning_pulls")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    // Attempts are stamped to the second: let one pass so the next is told apart.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = last_attempt(&p.app, "aps-nightly").await;
    let r = p
        .planner
        .post(&format!("/planning/pulls/{}/now", id.0), &[])
        .await;
    assert!(r.headers()["location"].to_str().unwrap().contains("saved="));
    let (status, _, _) = pulled(&p.app, "aps-nightly", before).await;
    assert_eq!(status, "unchanged");
    let (versions,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM planning_imports WHERE source = 'aps-nightly'")
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!(versions, 1);
    assert_eq!(site.hits.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A wrong password: failed with what to check, among the buyers' planning exceptions.
    let r = admin
        .post("/planning/pulls", &pull_form("wrong", "24"))
        .await;
    assert_eq!(r.status(), 303);
    // Attempts are stamped to the second: let one pass so the next is told apart.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = last_attempt(&p.app, "aps-nightly").await;
    admin
        .post(&format!("/planning/pulls/{}/now", id.0), &[])
        .await;
    let (status, message, _) = pulled(&p.app, "aps-nightly", before).await;
    assert_eq!(status, "failed");
    assert!(
        message.contains("401") && message.contains("check the user and password"),
        "{message}"
    );
    let buyer = p.app.signed_in(BUYER.0, BUYER.1).await;
    let found = planning_exceptions(&buyer, "").await;
    assert!(
        found
            .iter()
            .any(|x| x["kind"] == "pull_failed" && x["subject"] == "forecast from aps-nightly"),
        "{found:#?}"
    );

    // A stored secret never follows a new address: it must be given again.
    let elsewhere: Vec<(&str, &str)> = pull_form("", "24")
        .into_iter()
        .map(|(k, v)| {
            if k == "url" {
                (k, "http://127.0.0.1:9/elsewhere.csv")
            } else {
                (k, v)
            }
        })
        .collect();
    let r = admin.post("/planning/pulls", &elsewhere).await;
    assert!(
        r.headers()["location"].to_str().unwrap().contains("again"),
        "{:?}",
        r.headers()
    );
    let (url,): (String,) = sqlx::query_as("SELECT url FROM planning_pulls")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(url, site.url, "nothing changed");

    // Paused: nothing runs, "now" is refused; removed: gone, its version stays.
    admin
        .post(&format!("/planning/pulls/{}/pause", id.0), &[])
        .await;
    let r = admin
        .post(&format!("/planning/pulls/{}/now", id.0), &[])
        .await;
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("resume+it+first"));
    assert!(
        !planning_exceptions(&buyer, "")
            .await
            .iter()
            .any(|x| x["kind"] == "pull_failed"),
        "a paused pull is not a problem"
    );
    let r = p
        .planner
        .post(&format!("/planning/pulls/{}/delete", id.0), &[])
        .await;
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("Only+an+admin"));
    admin
        .post(&format!("/planning/pulls/{}/delete", id.0), &[])
        .await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM planning_pulls")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        detail(&p.planner, &import.unwrap().to_string()).await["import"]["version"],
        1
    );

    // Suppliers reach none of it.
    let ana = p.app.signed_in(ANA.0, ANA.1).await;
    assert_eq!(
        ana.post("/planning/pulls", &pull_form("x", "24"))
            .await
            .status(),
        403
    );
    assert_eq!(ana.get("/planning/sources", &[]).await.status(), 403);
}

/// An approval takes its version's kind as its lock key: on PostgreSQL it goes on beside a
/// supply import in progress, and waits for a forecast import in progress (both write that
/// kind's versions). SQLite has one writer: it waits for either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_waits_for_an_import_of_its_own_kind_only() {
    use millrace::server::db::{self, Backend, LockKey};
    let p = plan().await;
    let postgres = db::backend(&p.app.db) == Backend::Postgres;
    let approve_while = |kind: &'static str, snapshot: &'static str, base: i64| {
        let p = &p;
        async move {
            let to = upload(
                &p.planner,
                "forecast",
                "frepple",
                snapshot,
                "forecast.csv",
                good_forecast(p, base),
            )
            .await;
            let id = snapshot_of(&to);
            let held = db::write_keyed(&p.app.db, &[LockKey::planning_kind(kind)])
                .await
                .unwrap();
            let path = format!("/planning/versions/{id}/approve");
            let form = [("idempotency_key", snapshot)];
            let approve = p.planner.post(&path, &form);
            tokio::pin!(approve);
            let early = tokio::time::timeout(std::time::Duration::from_millis(1500), &mut approve)
                .await
                .ok();
            let went_on = early.is_some();
            held.commit().await.unwrap();
            let r = match early {
                Some(r) => r,
                None => approve.await,
            };
            assert_eq!(r.status(), 303);
            assert_eq!(detail(&p.planner, &id).await["import"]["status"], "approved");
            went_on
        }
    };
    assert_eq!(
        approve_while("supply", "S-1", 10).await,
        postgres,
        "beside a supply import on PostgreSQL"
    );
    assert!(
        !approve_while("forecast", "S-2", 20).await,
        "after a forecast import"
    );
}

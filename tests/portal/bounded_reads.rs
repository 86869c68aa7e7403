//! Reads a screen makes are bounded (issue 12): the exceptions page shows the most pressing
//! few of each kind with how many there are, while the CSV keeps them all; the dead letters
//! keep to the viewer's companies.

use super::*;

/// 250 write-backs to the order `order_odoo_id` that Odoo would not take (dead letters).
async fn dead_letters(db: &millrace::server::db::Db, order_odoo_id: i64) {
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
         INSERT INTO outbox_messages (correlation_id, order_odoo_id, kind, payload, status, attempts, last_error, created_at)
         SELECT 'bulk-' || (1000 + i), $1, 'acknowledge', '{}', 'dead', 5, 'Odoo said no', '2026-11-30 00:00:00' FROM n",
    )
    .bind(order_odoo_id)
    .execute(db)
    .await
    .unwrap();
}

/// Renames a table, so that the reads of it fail (and back).
async fn rename_table(db: &millrace::server::db::Db, from: &str, to: &str) {
    sqlx::query(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .execute(db)
        .await
        .unwrap();
}

/// 250 dead letters on the first order of company 1 (the buyer's).
async fn dead_letters_of_company_1(db: &millrace::server::db::Db) {
    let (order_odoo_id,): (i64,) = sqlx::query_as(
        "SELECT o.odoo_id FROM purchase_orders o JOIN order_headers h ON h.order_id = o.id WHERE h.company_odoo_id = 1 ORDER BY o.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    dead_letters(db, order_odoo_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exceptions_page_shows_200_of_250_dead_letters_and_the_csv_all_of_them() {
    let app = spawn_app().await;
    dead_letters_of_company_1(&app.db).await;

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let x: Value = buyer
        .json("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    let shown = x["sync_problems"].as_array().unwrap();
    assert_eq!(shown.len(), 200);
    assert_eq!(x["totals"]["sync_problems"], 250);
    assert_eq!(x["shown_at_most"], 200);
    assert_eq!(shown[0]["correlation_id"], "bulk-1001", "the oldest first");

    let (_, page) = buyer.page("/buyer/exceptions").await;
    assert!(
        page.contains("Showing the 200 most pressing of 250; the CSV export has them all."),
        "{page}"
    );
    assert!(
        page.contains(r#"data-testid="count-sync">250<"#),
        "the count is of all"
    );

    let (_, csv) = buyer.page("/buyer/exceptions.csv").await;
    let dead = csv
        .lines()
        .filter(|l| l.starts_with("sync problem,") && l.contains("Odoo said no"))
        .count();
    assert_eq!(dead, 250, "the CSV has every one");

    // A buyer limited to another company sees none of them, on the page or in the list.
    let (buyer_id,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'buyer@millrace.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    sqlx::query("INSERT INTO staff_companies (user_id, company_odoo_id) VALUES ($1, 2)")
        .bind(buyer_id)
        .execute(&app.db)
        .await
        .unwrap();
    let mut limited = Browser::open(&app.url).await;
    limited
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let list: Value = limited.json("/api/sync/dead-letters", &[]).await;
    let theirs = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["correlation_id"]
                .as_str()
                .unwrap_or("")
                .starts_with("bulk-")
        })
        .count();
    assert_eq!(
        theirs, 0,
        "another company's dead letters are not theirs to see"
    );
    let x: Value = limited
        .json("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    assert_eq!(x["totals"]["sync_problems"], 0);
}

/// The CSV as the export wrote it before it streamed (issue 12): the rows of
/// `exceptions::rows`, quoted where they must be, CRLF-ended.
fn csv_as_before(rows: &[millrace::server::exceptions::Row]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut lines = vec!["category,order,supplier,detail,since".to_string()];
    for r in rows {
        let cells = [
            r.category.words(),
            r.order_name.as_deref().unwrap_or_default(),
            r.supplier.as_deref().unwrap_or_default(),
            &r.detail,
            &r.when,
        ];
        lines.push(cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
    }
    lines.join("\r\n") + "\r\n"
}

/// An app that polls Odoo once, at start: what a test writes into its tables stays.
async fn spawn_app_polling_once() -> TestApp {
    spawn_app_with(|s| s.poll_interval = Duration::from_secs(3600)).await
}

/// One exception of every kind besides the demo's, some with text the CSV must quote, and
/// `dead` dead letters.
async fn every_kind_of_exception(db: &millrace::server::db::Db, dead: i64) {
    let now = chrono::Utc::now().naive_utc();
    let at = |hours: i64| {
        (now - chrono::Duration::hours(hours))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let (order_id, order_odoo_id, supplier_id): (i64, i64, i64) = sqlx::query_as(
        "SELECT o.id, o.odoo_id, o.supplier_id FROM purchase_orders o WHERE o.visible = TRUE
         AND EXISTS (SELECT 1 FROM purchase_order_lines l WHERE l.order_id = o.id)
         AND o.id NOT IN (SELECT order_id FROM receipts WHERE state NOT IN ('done', 'cancel'))
         ORDER BY o.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query("UPDATE receipts SET lots_synced = TRUE WHERE order_id = $1")
        .bind(order_id)
        .execute(db)
        .await
        .unwrap();
    let lines: Vec<(i64,)> = sqlx::query_as(
        "SELECT l.id FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
         WHERE o.visible = TRUE AND l.removed_in_odoo = FALSE ORDER BY l.id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    // A proposal and a rejection, answered an hour apart.
    for (i, (line,)) in lines.iter().rev().take(2).enumerate() {
        sqlx::query(
            "UPDATE purchase_order_lines SET answer = $1, proposed_date = '2026-12-24 00:00:00', proposed_quantity = '3',
             answer_reason = 'the press is down, \"again\"', answered_at = $2 WHERE id = $3",
        )
        .bind(if i == 0 { "proposal_pending" } else { "rejected" })
        .bind(at(i as i64 + 1))
        .bind(line)
        .execute(db)
        .await
        .unwrap();
    }
    // Late acknowledgments: orders released long ago, two in the same hour.
    for (i, hours) in [(0, 300), (1, 200), (2, 200)] {
        sqlx::query(
            "UPDATE purchase_orders SET acknowledged_at = NULL, odoo_state = 'purchase', status = 'new', date_approve = $1
             WHERE id = (SELECT id FROM purchase_orders WHERE visible = TRUE ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(at(hours))
        .bind(i)
        .execute(db)
        .await
        .unwrap();
    }
    // An open line due long ago: at risk.
    sqlx::query("UPDATE purchase_order_lines SET date_planned = '2020-01-02 00:00:00', qty_received = '0' WHERE id = $1")
        .bind(lines[0].0)
        .execute(db)
        .await
        .unwrap();
    // A settled receipt that booked less than announced: a discrepancy.
    let (user_id,): (i64,) = sqlx::query_as("SELECT id FROM users ORDER BY id LIMIT 1")
        .fetch_one(db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO receipts (odoo_id, order_id, name, state, lots_synced) VALUES (990001, $1, 'WH/IN/BULK', 'done', TRUE)")
        .bind(order_id)
        .execute(db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO shipment_notices (number, supplier_id, status, ship_date, expected_arrival, carrier, tracking_number, package_count, created_by, created_at, correlation_id)
         VALUES ('ASN-BULK-1', $1, 'submitted', '2026-11-01', '2026-11-02', 'DHL', 'T1', 1, $2, '2026-11-01 00:00:00', 'bulk-asn')",
    )
    .bind(supplier_id)
    .bind(user_id)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO shipment_notice_lines (notice_id, line_id, quantity)
         SELECT n.id, l.id, '1000' FROM shipment_notices n, purchase_order_lines l WHERE n.number = 'ASN-BULK-1' AND l.order_id = $1",
    )
    .bind(order_id)
    .execute(db)
    .await
    .unwrap();
    // Conflicts: an order Odoo changed, a write-back that met it.
    sqlx::query("UPDATE purchase_orders SET odoo_change_summary = 'quantity 5 → 6, \"urgent\"' WHERE id = $1")
        .bind(order_id)
        .execute(db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outbox_messages (correlation_id, order_odoo_id, kind, payload, status, attempts, last_error, created_at)
         VALUES ('bulk-conflict', $1, 'acknowledge', '{}', 'conflict', 1, 'changed, twice', '2026-11-29 00:00:00')",
    )
    .bind(order_odoo_id)
    .execute(db)
    .await
    .unwrap();
    // A scheduled planning pull that failed.
    sqlx::query(
        "INSERT INTO planning_pulls (source, kind, url, every_hours, user_id, next_due_at, last_attempt_at, last_status, last_message, created_at)
         VALUES ('bulk-erp', 'forecast', 'https://erp.example/f.csv', 24, $1, '2099-01-01 00:00:00', '2026-11-30 00:00:00', 'failed', 'HTTP 503, \"down\"\nretrying', '2026-11-01 00:00:00')",
    )
    .bind(user_id)
    .execute(db)
    .await
    .unwrap();
    // Dead letters, one with a line break and quotes in its error.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
         INSERT INTO outbox_messages (correlation_id, order_odoo_id, kind, payload, status, attempts, last_error, created_at)
         SELECT 'many-' || (100000 + i), $1, 'acknowledge', '{}', 'dead', 5, CASE WHEN i = 1 THEN 'Odoo said \"no\",
twice' ELSE 'Odoo said no' END, '2026-11-30 00:00:00' FROM n",
    )
    .bind(order_odoo_id)
    .bind(dead)
    .execute(db)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_is_streamed_with_the_bytes_the_whole_export_had() {
    let app = spawn_app_polling_once().await;
    every_kind_of_exception(&app.db, 3000).await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let scope = millrace::server::exceptions::Scope::default();
    let windows = millrace::server::exceptions::Windows::of(&Settings::for_tests());
    let mut response = buyer.get("/buyer/exceptions.csv", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.content_length().is_none(),
        "streamed: no length known before the body, {:?}",
        response.headers()
    );
    let mut chunks = 0;
    let mut csv = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        csv.extend_from_slice(&chunk);
    }
    let csv = String::from_utf8(csv).unwrap();
    assert!(chunks > 1, "{chunks} chunk(s)");
    let view = millrace::server::exceptions::overview(&app.db, &scope, windows)
        .await
        .unwrap();
    let before = csv_as_before(&millrace::server::exceptions::rows(&view));
    // An age in hours may tick over between the two reads: then the next export agrees.
    let csv = if csv == before {
        csv
    } else {
        buyer
            .get("/buyer/exceptions.csv", &[])
            .await
            .text()
            .await
            .unwrap()
    };
    assert!(csv == before, "streamed:\n{csv}\nwhole:\n{before}");
    for words in [
        "proposal,",
        "late acknowledgment,",
        "at-risk delivery,",
        "shipment vs receipt,",
        "conflict,",
        "planning,",
        "sync problem,",
    ] {
        assert!(
            csv.split("\r\n").any(|l| l.starts_with(words)),
            "no {words}\n{csv}"
        );
    }
    assert!(
        csv.contains("\"acknowledge dead: Odoo said \"\"no\"\",\ntwice\","),
        "quoted"
    );
    assert_eq!(csv.matches("Odoo said").count(), 3000, "every dead letter");
    let late: Vec<&str> = csv
        .split("\r\n")
        .filter(|l| l.starts_with("late acknowledgment,"))
        .collect();
    let ages: Vec<i64> = late
        .iter()
        .filter_map(|l| l.split("waiting ").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(
        ages.windows(2).all(|w| w[0] >= w[1]),
        "longest waiting first: {late:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_answers_before_its_last_sections_are_read_and_a_late_failure_cuts_it_short() {
    let app = spawn_app_polling_once().await;
    every_kind_of_exception(&app.db, 10).await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    // The planning section (the sixth of seven) cannot be read.
    rename_table(&app.db, "planning_pulls", "planning_pulls_away").await;
    let mut response = buyer.get("/buyer/exceptions.csv", &[]).await;
    assert_eq!(
        response.status(),
        200,
        "answered once the first section was read, before the failing one ran"
    );
    let mut csv = Vec::new();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => csv.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        ended.is_err(),
        "the download is cut short, not ended as if whole:\n{csv}"
    );
    assert!(
        csv.starts_with("category,order,supplier,detail,since\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\r\nproposal,"), "{csv}");
    assert!(!csv.contains("sync problem,"), "{csv}");

    // A failure before the first chunk still answers a problem.
    rename_table(&app.db, "planning_pulls_away", "planning_pulls").await;
    rename_table(&app.db, "suppliers", "suppliers_away").await;
    let response = buyer.get("/buyer/exceptions.csv", &[]).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    rename_table(&app.db, "suppliers_away", "suppliers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_names_ten_of_250_dead_letters_and_counts_them_all() {
    let app = spawn_app().await;
    dead_letters_of_company_1(&app.db).await;

    let sent = millrace::server::notify::send_digests(
        &app.db,
        millrace::server::exceptions::Windows::of(&Settings::for_tests()),
        "http://portal.example",
        chrono::Duration::hours(24),
        None,
    )
    .await
    .unwrap();
    assert_eq!(sent, 2, "the buyer and the admin");
    let (_, body) = mails_to(&app, "buyer@millrace.example")
        .await
        .pop()
        .unwrap();
    let section = body
        .split("\n\n")
        .find(|s| s.starts_with("Could not be written to Odoo"))
        .unwrap_or_else(|| panic!("no sync section:\n{body}"));
    let mut lines = section.lines();
    assert_eq!(
        lines.next(),
        Some("Could not be written to Odoo (250)"),
        "{body}"
    );
    let items: Vec<&str> = lines.collect();
    assert_eq!(
        items.len(),
        11,
        "ten named and the rest counted:\n{section}"
    );
    assert_eq!(items[10], "  - and 240 more", "{section}");
    assert!(body.contains("things need the purchasing team"), "{body}");
}

/// `GET /api/v1/exceptions` as a BI tool calls it, with an `exceptions:read` token.
async fn exceptions_api(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/v1/exceptions{query}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The body of a streamed answer, and whether it ended properly.
async fn chunks_of(mut response: reqwest::Response) -> (usize, String, Result<(), reqwest::Error>) {
    let mut chunks = 0;
    let mut body = Vec::new();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                chunks += 1;
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    (chunks, String::from_utf8(body).unwrap(), ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_streams_every_exception_in_the_screens_order_with_the_counts_after() {
    let app = spawn_app_polling_once().await;
    every_kind_of_exception(&app.db, 3000).await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let token = common::machine::token(&admin, "BI dashboard", &["exceptions_read"]).await;

    let response = exceptions_api(&app, &token, "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(
        response.content_length().is_none(),
        "streamed: no length known before the body, {:?}",
        response.headers()
    );
    let (chunks, body, ended) = chunks_of(response).await;
    ended.unwrap();
    assert!(chunks > 1, "{chunks} chunk(s)");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let items = list["exceptions"].as_array().unwrap();
    let counts = list["counts"].as_object().unwrap();
    assert_eq!(counts.len(), 7, "every category counted: {counts:?}");
    assert_eq!(counts["sync_problem"], 3000, "every dead letter");
    let counted: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(counted as usize, items.len());

    // The same exceptions as read whole, in the same order and words, as a buyer sees
    // them (an integration token's user is a buyer: no links to the planners' pages).
    let scope = millrace::server::exceptions::Scope::default();
    let windows = millrace::server::exceptions::Windows::of(&Settings::for_tests());
    let view = millrace::server::exceptions::overview(&app.db, &scope, windows)
        .await
        .unwrap();
    let rows = millrace::server::exceptions::rows(&view);
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(items) {
        assert_eq!(item["category"], row.category.code(), "{item}");
        assert_eq!(
            item["order"]["number"].as_str(),
            row.order_name.as_deref(),
            "{item}"
        );
        assert_eq!(item["supplier"].as_str(), row.supplier.as_deref(), "{item}");
        // An age in hours may tick over between the two reads.
        if row.category != millrace::server::exceptions::Category::LateAcknowledgment {
            assert_eq!(item["detail"], row.detail.as_str(), "{item}");
        }
        assert!(
            item["link"].as_str().unwrap().ends_with(&row.link),
            "{item} against {:?}",
            row.link
        );
    }

    // Only the categories asked for: the other sections are not read, nor counted.
    let (_, body, ended) =
        chunks_of(exceptions_api(&app, &token, "?category=sync_problem,planning").await).await;
    ended.unwrap();
    let only: serde_json::Value = serde_json::from_str(&body).unwrap();
    let only_counts = only["counts"].as_object().unwrap();
    assert_eq!(
        only_counts.keys().collect::<Vec<_>>(),
        ["planning", "sync_problem"]
    );
    assert_eq!(only_counts["sync_problem"], 3000);
    assert_eq!(only_counts["planning"], counts["planning"]);
    assert!(only["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["category"] == "sync_problem" || e["category"] == "planning"));

    // A section that fails after the first chunk cuts the answer short: a client never
    // parses a list that looks whole.
    rename_table(&app.db, "planning_pulls", "planning_pulls_away").await;
    let response = exceptions_api(&app, &token, "").await;
    assert_eq!(response.status(), 200);
    let (_, body, ended) = chunks_of(response).await;
    assert!(
        ended.is_err(),
        "cut short:\n{}",
        &body[..body.len().min(500)]
    );
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    // One that fails before it answers a problem.
    rename_table(&app.db, "planning_pulls_away", "planning_pulls").await;
    rename_table(&app.db, "suppliers", "suppliers_away").await;
    let response = exceptions_api(&app, &token, "").await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    rename_table(&app.db, "suppliers_away", "suppliers").await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exceptions_page_shows_200_of_250_dead_letters_and_the_csv_all_of_them() {
    let app = spawn_app().await;
    let (order_odoo_id,): (i64,) = sqlx::query_as(
        "SELECT o.odoo_id FROM purchase_orders o JOIN order_headers h ON h.order_id = o.id WHERE h.company_odoo_id = 1 ORDER BY o.id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    dead_letters(&app.db, order_odoo_id).await;

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

//! Rules of a shipment notice that hold whatever the form sends.

use super::*;

/// A line listed twice in one notice would be checked twice against the whole open quantity
/// and announce it twice (the receipt prefill then carried twice the quantity): refused with
/// a message, nothing stored; and the storage holds a line once per notice whatever the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_that_lists_a_line_twice_is_refused_and_the_storage_allows_it_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let line = open_line(&ana, "none").await;
    let id = line.line_id.to_string();
    let open = line.open_quantity.clone();
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(id.clone(), &open, ""), (id.clone(), &open, "")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("listed more than once"), "{body}");
    let (notices,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shipment_notices")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(notices, 0, "nothing stored");

    // Once is fine; a second row for the same notice and line is refused by the database.
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(id.clone(), "1", "")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (notice, line_id): (i64, i64) =
        sqlx::query_as("SELECT notice_id, line_id FROM shipment_notice_lines")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let again = sqlx::query(
        "INSERT INTO shipment_notice_lines (notice_id, line_id, quantity, lot_numbers) VALUES ($1, $2, '1', '[]')",
    )
    .bind(notice)
    .bind(line_id)
    .execute(&app.db)
    .await;
    assert!(again.is_err(), "a second row for the same line was stored");
}

/// A stored quantity that does not parse is an error, never a zero: read as zero received,
/// it would let a notice announce what was already delivered. The notice is refused as the
/// server's fault, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_quantity_that_does_not_parse_refuses_the_notice_instead_of_reading_zero() {
    // One poll only (the first): a later one re-reads the freshly seeded order and would
    // write the line's received quantity back over the bad value before the notice is sent.
    let app = spawn_app_with(|s| s.poll_interval = std::time::Duration::from_secs(3600)).await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let line = open_line(&ana, "none").await;
    let id = line.line_id;
    sqlx::query("UPDATE purchase_order_lines SET qty_received = 'n/a' WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(id.to_string(), "1", "")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 500, "{:?}", r.text().await);
    let (notices,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shipment_notices")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(notices, 0, "nothing stored");
}

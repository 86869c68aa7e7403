//! Supplier performance: every supplier for the staff, its own for a supplier.

use super::*;

async fn performance(b: &Browser, supplier: String, from: &str) -> reqwest::Response {
    b.get(
        "/api/performance",
        &[("supplier", &supplier), ("from", from), ("to", "")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_is_every_supplier_for_buyers_and_only_its_own_for_a_supplier() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    acknowledge_first(&ana).await;
    let (wood,): (i64,) = sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = 11")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // Ana asks for Wood Corner's: she gets Gemini's, and only that.
    let r = performance(&ana, wood.to_string(), "").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let scores = v["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 1, "{v}");
    assert_eq!(scores[0]["name"], "Gemini Furniture");
    let card = &scores[0]["card"];
    assert!(
        card["acknowledged"]["hits"].as_u64().unwrap() >= 1,
        "{card}"
    );
    // The demo's oldest Gemini orders were received: delivered lines are scored.
    assert!(card["in_full"]["of"].as_u64().unwrap() > 0, "{card}");
    assert!(card["on_time"]["of"].as_u64().unwrap() > 0, "{card}");
    assert!(v["suppliers"].as_array().unwrap().is_empty());
    assert!(!v["months"].as_array().unwrap().is_empty());

    // A buyer sees every organisation with orders in the period, or the one chosen.
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let v: Value = performance(&buyer, String::new(), "")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = v["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gemini Furniture", "Ready Mat", "Wood Corner"]);
    let v: Value = performance(&buyer, wood.to_string(), "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["scores"].as_array().unwrap().len(), 1);
    assert_eq!(v["scores"][0]["name"], "Wood Corner");

    // A period in the future has nothing; a nonsense date gets a message.
    let r = performance(&buyer, String::new(), "2999-01-01").await;
    assert_eq!(r.status(), 422, "starts after it ends");
    let r = performance(&buyer, String::new(), "yesterday").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("must look like"));
}

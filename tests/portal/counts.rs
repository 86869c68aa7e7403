//! The inbox's counts per status and its filter options are kept (migrations 0040 and
//! 0041's triggers), not recounted per view: after every kind of change they still equal
//! a recount of the orders.

use super::*;
use millrace::domain::order::OrderStatus;

/// Visible orders per (supplier, status), recounted from the orders.
async fn recount(db: &millrace::server::db::Db) -> Vec<(i64, String, i64)> {
    sqlx::query_as(
        "SELECT supplier_id, status, COUNT(*) FROM purchase_orders WHERE visible = TRUE
         GROUP BY supplier_id, status ORDER BY supplier_id, status",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

/// The kept counts, as the triggers left them (statuses no order has any more left out).
async fn kept(db: &millrace::server::db::Db) -> Vec<(i64, String, i64)> {
    sqlx::query_as(
        "SELECT supplier_id, status, orders FROM order_status_counts WHERE orders <> 0
         ORDER BY supplier_id, status",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

/// The counts a page shows, by status label, with its total.
fn shown(page: &OrderPage) -> (Vec<(String, i64)>, i64) {
    let mut counts: Vec<(String, i64)> = page
        .counts
        .iter()
        .map(|(status, n)| (label(*status), *n))
        .collect();
    counts.sort();
    (counts, page.total)
}

/// A status as the counts name it on the wire (`ChangesProposed`).
fn label(status: OrderStatus) -> String {
    serde_json::to_value(status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// The kept counts equal a recount, and the inbox of the supplier and of staff show them.
async fn counts_agree(app: &TestApp, ana: &Browser, buyer: &Browser, after: &str) {
    let recounted = recount(&app.db).await;
    assert_eq!(kept(&app.db).await, recounted, "after {after}");
    let (supplier,): (i64,) =
        sqlx::query_as("SELECT supplier_id FROM users WHERE email = 'ana@gemini.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let as_shown = |rows: Vec<(String, i64)>| {
        let mut by_label: Vec<(String, i64)> = Vec::new();
        for (code, n) in rows {
            let label = label(OrderStatus::from_code(&code).unwrap());
            match by_label.iter_mut().find(|(l, _)| *l == label) {
                Some((_, total)) => *total += n,
                None => by_label.push((label, n)),
            }
        }
        by_label.sort();
        let total = by_label.iter().map(|(_, n)| n).sum::<i64>();
        (by_label, total)
    };
    let anas = as_shown(
        recounted
            .iter()
            .filter(|(s, _, _)| *s == supplier)
            .map(|(_, st, n)| (st.clone(), *n))
            .collect(),
    );
    assert_eq!(
        shown(&ana.order_page("").await),
        anas,
        "ana's inbox after {after}"
    );
    let everyone = as_shown(
        recounted
            .iter()
            .map(|(_, st, n)| (st.clone(), *n))
            .collect(),
    );
    assert_eq!(
        shown(&buyer.order_page("").await),
        everyone,
        "the buyer's inbox after {after}"
    );
    // The company and plant filter options, kept the same way, equal a reading of every header.
    for email in ["ana@gemini.example", "buyer@millrace.example"] {
        let user = current_user(&app.db, email).await;
        let kept = millrace::server::order_document::origins(&app.db, &user)
            .await
            .unwrap();
        let counted = millrace::server::order_document::origins_counted(&app.db, &user)
            .await
            .unwrap();
        assert_eq!(kept, counted, "{email}'s filter options after {after}");
        assert!(
            !kept.companies.is_empty(),
            "{email} has orders of a company"
        );
    }
    // Filtered by status, the total is that status's count.
    if let Some((label, n)) = anas.0.first() {
        let code = OrderStatus::ALL
            .iter()
            .find(|s| self::label(**s) == *label)
            .unwrap()
            .code();
        let r = ana.orders_page("", code).await;
        assert_eq!(r.status(), 200, "{code} after {after}");
        let page: OrderPage = r.json().await.unwrap();
        assert_eq!(page.total, *n, "{code} after {after}");
    }
}

/// The user as the server functions see them (every company: neither is limited).
async fn current_user(
    db: &millrace::server::db::Db,
    email: &str,
) -> millrace::server::auth::session::CurrentUser {
    use millrace::server::auth::session::{CurrentUser, Role};
    let (id, role, supplier_id): (i64, String, Option<i64>) =
        sqlx::query_as("SELECT id, role, supplier_id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(db)
            .await
            .unwrap();
    CurrentUser {
        id,
        email: email.into(),
        display_name: email.into(),
        role: Role::from_code(&role).unwrap(),
        supplier_id,
        supplier_name: None,
        time_zone: "UTC".into(),
        companies: Default::default(),
    }
}

async fn status_of(b: &Browser, order_id: &str) -> OrderStatus {
    b.order_detail(order_id).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_counts_per_status_equal_a_recount_after_every_kind_of_change() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let page = synced_orders(&ana, 4).await;
    counts_agree(&app, &ana, &buyer, "the first sync").await;
    let order = |i: usize| (page.orders[i].id.to_string(), page.orders[i].name.clone());

    // The supplier acknowledges one order.
    let (first, first_name) = order(0);
    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &first)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(status_of(&ana, &first).await, OrderStatus::Acknowledged);
    counts_agree(&app, &ana, &buyer, "an acknowledgment").await;

    // ... and proposes another date for a line of another.
    let (second, _) = order(1);
    let d = ana.order_detail(&second).await;
    let line = d.lines[0].id.to_string();
    let r = propose_date(&ana, &second, &line, "2031-03-01", "tooling").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_ne!(status_of(&ana, &second).await, OrderStatus::New);
    counts_agree(&app, &ana, &buyer, "an answer").await;

    // The buyer changes the acknowledged order in Odoo; the poller reads it.
    edit_line_in_odoo(&app.double, &first_name, 0, json!({"product_qty": 999.0})).await;
    eventually("the poller marks the order changed", || {
        let (ana, first) = (&ana, first.clone());
        async move { status_of(ana, &first).await == OrderStatus::ChangedInOdoo }
    })
    .await;
    counts_agree(&app, &ana, &buyer, "a change polled from Odoo").await;

    // The buyer cancels a third order in Odoo.
    let (third, third_name) = order(2);
    tokio::time::sleep(Duration::from_millis(1100)).await; // a later write_date second
    app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let id = env.ids_where("purchase.order", "name", &json!(third_name))[0];
        env.execute(
            &admin,
            "purchase.order",
            "button_cancel",
            Some(vec![id]),
            Default::default(),
        )
        .unwrap();
    });
    eventually("the poller marks the order cancelled", || {
        let (ana, third) = (&ana, third.clone());
        async move { status_of(ana, &third).await == OrderStatus::Cancelled }
    })
    .await;
    counts_agree(&app, &ana, &buyer, "a cancellation in Odoo").await;

    // A fourth order moves to a vendor the portal does not serve: reconciliation hides it.
    let (_, fourth_name) = order(3);
    assert_eq!(
        move_to_unserved_vendor_and_reconcile(&app, &fourth_name).await,
        1
    );
    counts_agree(&app, &ana, &buyer, "reconciliation hid an order").await;
}

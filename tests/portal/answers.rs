//! A supplier's answers (acknowledgment, line by line, proposals) and the buyer's decisions on
//! them, and who may give which.

use super::*;
use millrace::api::orders::{LineView, OrderDetail};
use millrace::domain::order::{LineAnswerState, OrderStatus};
use millrace::model::exceptions::ExceptionsView;

/// A new order of two lines or more among the supplier's synced orders: its id and detail.
async fn a_new_order_of_two_lines(supplier: &Browser) -> (String, OrderDetail) {
    let page = synced_orders(supplier, 1).await;
    let order = page
        .orders
        .iter()
        .find(|o| o.status == OrderStatus::New && o.line_count >= 2)
        .unwrap();
    let order_id = order.id.to_string();
    let detail = supplier.order_detail(&order_id).await;
    (order_id, detail)
}

/// A proposed date outside any tolerance: twenty days after the line's requested date.
fn twenty_days_after_requested(line: &LineView) -> String {
    (chrono::NaiveDate::parse_from_str(&line.date_planned.as_deref().unwrap()[..10], "%Y-%m-%d")
        .unwrap()
        + chrono::Duration::days(20))
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplier_acknowledges_and_odoo_gets_it_once_with_the_correlation_id() {
    let app = spawn_app().await;
    let mut ana = Browser::open(&app.url).await;
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );

    let page = synced_orders(&ana, 1).await;
    // Gemini Furniture's confirmed orders only; newest first.
    let orders = &page.orders;
    assert!(
        orders.iter().all(|o| o.supplier_name == "Gemini Furniture"),
        "{orders:?}"
    );
    let first = &orders[0];
    let order_id = first.id.to_string();
    let name = first.name.clone();

    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    eventually("the double holds the acknowledgment and one note", || {
        let (_, acknowledged, notes) = odoo_order(&app.double, &name);
        async move {
            acknowledged
                && notes
                    .iter()
                    .any(|n| n.contains("Acknowledged by Ana Silva"))
        }
    })
    .await;
    let detail = ana.order_detail(&order_id).await;
    assert_eq!(detail.status, OrderStatus::Acknowledged);
    let correlation = detail.deliveries[0].correlation_id.clone();
    eventually("the delivery is marked delivered", || {
        let ana = &ana;
        let order_id = order_id.clone();
        async move {
            let d = ana.order_detail(&order_id).await;
            d.deliveries
                .first()
                .is_some_and(|d| d.status == "delivered")
        }
    })
    .await;
    let (_, _, notes) = odoo_order(&app.double, &name);
    assert_eq!(
        notes.iter().filter(|n| n.contains(&correlation)).count(),
        1,
        "{notes:?}"
    );

    // Acknowledging twice changes nothing and says so; nothing more reaches Odoo.
    let r = ana
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("acknowledged already"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_supplier_cannot_read_or_act_on_the_order() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let tom = signed_in(&app, "tom@woodcorner.example", "woodcorner-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page.orders[0].id.to_string();
    let name = page.orders[0].name.clone();

    let r = tom.order(&order_id).await;
    assert_eq!(r.status(), 404);
    let r = tom
        .post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    assert_eq!(r.status(), 404);
    let r = tom
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &order_id),
                ("line_id", "1"),
                ("answer", "accept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    let toms = tom.order_page(&name).await;
    assert_eq!(toms.total, 0, "{toms:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, acknowledged, _) = odoo_order(&app.double, &name);
    assert!(!acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_within_tolerance_moves_the_date_in_odoo_and_one_outside_waits() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page.orders.iter().find(|o| o.line_count >= 2).unwrap();
    let order_id = order.id.to_string();
    let detail = ana.order_detail(&order_id).await;
    let line = &detail.lines[0];
    let requested =
        chrono::NaiveDate::parse_from_str(&line.date_planned.as_deref().unwrap()[..10], "%Y-%m-%d")
            .unwrap();
    let inside = (requested + chrono::Duration::days(2)).to_string();
    let line_id = line.id.to_string();

    // Bad input: a clear message, nothing stored.
    let r = propose_date(&ana, &order_id, &line_id, &inside, "").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Give a reason"));

    let r = propose_date(&ana, &order_id, &line_id, &inside, "furnace maintenance").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let line_odoo_id: (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(line.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    eventually("the double holds the new date", || {
        let got = app.double.with_env(|env| {
            env.get("purchase.order.line", line_odoo_id.0)
                .and_then(|l| l["date_planned"].as_str().map(String::from))
        });
        let inside = inside.clone();
        async move { got.is_some_and(|d| d.starts_with(&inside)) }
    })
    .await;

    let line2 = &detail.lines[1];
    let far = (chrono::NaiveDate::parse_from_str(
        &line2.date_planned.as_deref().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap()
        + chrono::Duration::days(30))
    .to_string();
    let r = propose_date(
        &ana,
        &order_id,
        &line2.id.to_string(),
        &far,
        "steel shortage",
    )
    .await;
    assert_eq!(r.status(), 200);
    let d = ana.order_detail(&order_id).await;
    assert_eq!(
        d.status,
        OrderStatus::ChangesProposed,
        "{:?}",
        d.change_summary
    );
    assert_eq!(d.lines[1].answer, Some(LineAnswerState::ProposalPending));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_approves_one_proposal_and_rejects_another_and_a_supplier_cannot_decide() {
    let app = spawn_app_with(|s| s.ack_window_hours = 0).await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (order_id, detail) = a_new_order_of_two_lines(&ana).await;
    let (l1, l2) = (&detail.lines[0], &detail.lines[1]);
    let far = twenty_days_after_requested;
    let (id1, id2) = (l1.id.to_string(), l2.id.to_string());
    let far1 = far(l1);
    for (id, date) in [(&id1, far1.clone()), (&id2, far(l2))] {
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", &order_id),
                    ("line_id", id),
                    ("answer", "propose"),
                    ("proposed_date", &date),
                    ("proposed_quantity", "1"),
                    ("reason", "capacity"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
    }

    // Suppliers cannot see or decide.
    assert_eq!(
        ana.get("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
            .await
            .status(),
        403
    );
    assert_eq!(
        ana.post(
            "/api/buyer/decide",
            &[("line_id", &id1), ("decision", "approve")]
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        ana.http
            .get(format!("{}/buyer/exceptions", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let x: ExceptionsView = buyer
        .json_as("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    assert_eq!(x.proposals.len(), 2, "{:?}", x.proposals);
    assert!(
        !x.late_acknowledgments.is_empty(),
        "with a 0 h window every new order is late"
    );
    // The demo's orders name Mitchell Admin as their purchase representative.
    assert_eq!(x.buyers, ["Mitchell Admin"]);
    let other: ExceptionsView = buyer
        .json_as(
            "/api/buyer/exceptions",
            &[("supplier", ""), ("buyer", "Someone Else")],
        )
        .await;
    assert!(other.proposals.is_empty(), "{:?}", other.proposals);
    assert!(
        other.late_acknowledgments.is_empty(),
        "{:?}",
        other.late_acknowledgments
    );
    let mitchell: ExceptionsView = buyer
        .json_as(
            "/api/buyer/exceptions",
            &[("supplier", ""), ("buyer", "Mitchell Admin")],
        )
        .await;
    assert_eq!(mitchell.proposals.len(), 2);
    let csv = buyer
        .http
        .get(format!(
            "{}/buyer/exceptions.csv?buyer=Someone%20Else",
            app.url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv, "category,order,supplier,detail,since\r\n",
        "the export follows the filter"
    );
    assert_eq!(
        buyer
            .post(
                "/api/buyer/decide",
                &[("line_id", &id2), ("decision", "reject"), ("reason", " ")]
            )
            .await
            .status(),
        422
    );
    assert_eq!(
        buyer
            .post(
                "/api/buyer/decide",
                &[("line_id", &id1), ("decision", "approve")]
            )
            .await
            .status(),
        200
    );
    assert_eq!(
        buyer
            .post(
                "/api/buyer/decide",
                &[
                    ("line_id", &id2),
                    ("decision", "reject"),
                    ("reason", "we need the full quantity")
                ]
            )
            .await
            .status(),
        200
    );
    // Deciding again the same way changes nothing and says so.
    let again = buyer
        .post(
            "/api/buyer/decide",
            &[("line_id", &id1), ("decision", "approve")],
        )
        .await;
    assert_eq!(again.status(), 200, "decided once");
    assert!(again.text().await.unwrap().contains("approved already"));

    let line_odoo: (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(l1.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    eventually("Odoo holds the approved date and quantity", || {
        let (date, qty) = app.double.with_env(|env| {
            (
                env.value("purchase.order.line", line_odoo.0, "date_planned"),
                env.value("purchase.order.line", line_odoo.0, "product_qty"),
            )
        });
        let far1 = far1.clone();
        async move { date.as_str().is_some_and(|d| d.starts_with(&far1)) && qty == json!(1.0) }
    })
    .await;
    let d = ana.order_detail(&order_id).await;
    assert_eq!(d.lines[0].answer, Some(LineAnswerState::ProposalAccepted));
    assert_eq!(d.lines[1].answer, Some(LineAnswerState::ProposalRejected));
    assert_eq!(
        d.lines[1].buyer_reason.as_deref(),
        Some("we need the full quantity")
    );
    assert_eq!(d.status, OrderStatus::ChangesRejected);
    // The supplier may answer the rejected line again.
    let r = ana
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &order_id),
                ("line_id", &id2),
                ("answer", "accept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_approves_several_proposals_at_once_and_a_supplier_cannot() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (order_id, detail) = a_new_order_of_two_lines(&ana).await;
    let mut ids = Vec::new();
    for l in detail.lines.iter().take(2) {
        let id = l.id.to_string();
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", &order_id),
                    ("line_id", &id),
                    ("answer", "propose"),
                    ("proposed_quantity", "1"),
                    ("reason", "short of stock"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        ids.push(id);
    }
    let form = |b: &Browser| {
        vec![
            ("line_id", ids[0].clone()),
            ("line_id", ids[1].clone()),
            ("csrf_token", b.csrf.clone()),
        ]
    };
    let r = ana
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&form(&ana))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let r = buyer
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&[("line_id", ids[0].clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no CSRF token, no bulk approval");
    let r = buyer
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&form(&buyer))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/buyer/exceptions?bulk=2");
    // More than the screen shows at once is refused whole: one lock per order, bounded.
    let mut crafted: Vec<(&str, String)> = (1..=201).map(|i| ("line_id", i.to_string())).collect();
    crafted.push(("csrf_token", buyer.csrf.clone()));
    let r = buyer
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&crafted)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("at most 200"), "{p}");
    let d = ana.order_detail(&order_id).await;
    assert_eq!(d.lines[0].answer, Some(LineAnswerState::ProposalAccepted));
    assert_eq!(d.lines[1].answer, Some(LineAnswerState::ProposalAccepted));

    // The approved quantities reach Odoo, and reading them back is not a change by the
    // buyer after the supplier answered.
    let name = d.name.clone();
    eventually("both quantities are in Odoo", || async {
        odoo_line(&app.double, &name, 0).0 == 1.0 && odoo_line(&app.double, &name, 1).0 == 1.0
    })
    .await;
    eventually("the portal has read them back", || async {
        let d = ana.order_detail(&order_id).await;
        d.lines.len() >= 2 && d.lines[0].quantity == "1" && d.lines[1].quantity == "1"
    })
    .await;
    let d = ana.order_detail(&order_id).await;
    assert!(d.change_summary.is_none(), "{:?}", d.change_summary);
    assert_ne!(d.status, OrderStatus::ChangedInOdoo);
}

/// What suppliers and buyers type on a line (a proposal's reason, the buyer's reason for
/// turning it down) reaches the order page as text, never as markup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_typed_on_a_line_show_on_the_order_page_as_text() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (order_id, detail) = a_new_order_of_two_lines(&ana).await;
    let supplier_says = "<img src=x onerror=alert(1)> & \"soon\"";
    for line in &detail.lines[..2] {
        let later = twenty_days_after_requested(line);
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", &order_id),
                    ("line_id", &line.id.to_string()),
                    ("answer", "propose"),
                    ("proposed_date", &later),
                    ("proposed_quantity", "1"),
                    ("reason", supplier_says),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let buyer_says = "</p><script>alert(2)</script>";
    let r = buyer
        .post(
            "/api/buyer/decide",
            &[
                ("line_id", &detail.lines[1].id.to_string()),
                ("decision", "reject"),
                ("reason", buyer_says),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);

    let (status, html) = ana.page(&format!("/orders/{order_id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("· “&lt;img src=x onerror=alert(1)&gt; &amp; \"soon\"”"),
        "the supplier's reason, as text"
    );
    assert!(
        html.contains(
            "turned your proposal down: &lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;."
        ),
        "the buyer's reason, as text"
    );
    assert!(!html.contains("<img src=x"), "no markup from a reason");
    assert!(
        !html.contains("<script>alert(2)"),
        "no markup from a reason"
    );
}

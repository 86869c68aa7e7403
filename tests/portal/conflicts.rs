//! Conflicts: a write-back that met Odoo's change, and the buyer's decision on it.

use super::*;
use millrace::api::orders::OrderDetail;
use millrace::domain::order::OrderStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_odoos_version_asks_the_supplier_to_answer_the_line_and_acknowledge_again() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let c = write_back_conflict(&app, &ana).await;
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &c.order_id)])
            .await
            .status(),
        200
    );
    eventually("the write-back conflict shows", || async {
        conflicts_of(&buyer)
            .await
            .iter()
            .any(|x| x.kind == "write_back")
    })
    .await;
    let key = conflicts_of(&buyer)
        .await
        .into_iter()
        .find(|x| x.kind == "write_back")
        .unwrap()
        .key;
    assert_eq!(resolve(&buyer, &key, "ask_again").await.status(), 200);
    // Odoo keeps the buyer's line; the supplier answers the line and acknowledges again.
    let (q, d) = odoo_line(&app.double, &c.name, 0);
    assert_eq!(q, c.ordered + 5.0);
    assert!(!d.starts_with(&c.inside));
    let detail = ana.order_detail(&c.order_id).await;
    assert!(detail.lines[0].answer.is_none());
    assert!(detail.acknowledged_at.is_none());
    mail_arrives(
        &app,
        "ana@gemini.example",
        &format!("Please answer purchase order {} again", c.name),
    )
    .await;
    let messages: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, status FROM outbox_messages ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        messages[0],
        ("update_line".to_string(), "discarded".to_string()),
        "{messages:?}"
    );
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &c.order_id)])
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_shows_both_versions_and_the_buyer_applies_the_answer_or_asks_again() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let WriteBackConflict {
        order_id,
        name,
        inside,
        ordered,
    } = write_back_conflict(&app, &ana).await;

    // The write-back meets the change; the poller sees the order changed after the answer.
    let conflicts = || conflicts_of(&buyer);
    eventually("both conflicts show", || async {
        let c = conflicts().await;
        c.iter().any(|c| c.kind == "write_back") && c.iter().any(|c| c.kind == "changed_in_odoo")
    })
    .await;
    let all = conflicts().await;
    let write_back = all.iter().find(|c| c.kind == "write_back").unwrap();
    assert_eq!(write_back.order_name, name);
    assert!(write_back.can_apply);
    let side = &write_back.lines[0];
    let more = format!("{}", ordered + 5.0);
    assert!(side.supplier.contains(&inside), "{side:?}");
    assert!(
        side.supplier
            .contains(&format!("answered against {ordered}")),
        "{side:?}"
    );
    assert!(side.odoo.starts_with(&more), "{side:?}");
    let changed = all.iter().find(|c| c.kind == "changed_in_odoo").unwrap();
    assert!(
        changed.summary.contains(&format!("{ordered} → {more}")),
        "{changed:?}"
    );
    assert_eq!(changed.lines[0].odoo.split(' ').next(), Some(more.as_str()));
    let csv = buyer
        .get("/buyer/exceptions.csv", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("conflict,"), "{csv}");

    // A supplier cannot resolve; nonsense gets a message.
    let key = write_back.key.clone();
    let r = resolve(&ana, &key, "apply").await;
    assert_eq!(r.status(), 403);
    let r = resolve(&buyer, &key, "maybe").await;
    assert_eq!(r.status(), 422);
    let r = resolve(&buyer, &key, "keep_answers").await;
    assert_eq!(r.status(), 422, "a write-back is applied or Odoo's kept");

    // Applied over Odoo's version: the new date lands, the buyer's quantity stays.
    let r = resolve(&buyer, &key, "apply").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    eventually("the supplier's date is in Odoo", || async {
        let (q, d) = odoo_line(&app.double, &name, 0);
        q == ordered + 5.0 && d.starts_with(&inside)
    })
    .await;
    let r = resolve(&buyer, &key, "apply").await;
    assert_eq!(r.status(), 404, "resolved once");
    // The same message went (no second one), its correlation id in Odoo's chatter.
    let reference = write_back.reference.clone().unwrap();
    // Odoo holds the date before the worker records the delivery: wait for the record.
    let mut messages: Vec<(String, String)> = Vec::new();
    for _ in 0..100 {
        messages = sqlx::query_as("SELECT correlation_id, status FROM outbox_messages ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
        if messages.iter().all(|m| m.1 == "delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(messages, [(reference.clone(), "delivered".to_string())]);
    let (_, _, notes) = odoo_order(&app.double, &name);
    assert!(notes.iter().any(|n| n.contains(&reference)), "{notes:?}");

    // The changed order: the buyer asks the supplier again; the supplier is mailed and
    // the line waits for a new answer.
    let key = changed.key.clone();
    let r = resolve(&buyer, &key, "ask_again").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let d = ana.order_detail(&order_id).await;
    assert!(d.lines[0].answer.is_none(), "{:?}", d.lines[0]);
    assert!(d.acknowledged_at.is_none());
    assert_eq!(
        d.status,
        OrderStatus::New,
        "it waits for the supplier as a new order would"
    );
    // Resolved once: no longer listed, and a second click cannot clear newer answers.
    assert!(conflicts().await.iter().all(|c| c.order_name != name));
    assert_eq!(resolve(&buyer, &key, "ask_again").await.status(), 404);
    assert!(mails_to(&app, "ana@gemini.example")
        .await
        .iter()
        .any(|(subject, _)| subject == &format!("Please answer purchase order {name} again")));
    let history: Vec<(String,)> = sqlx::query_as(
        "SELECT e.detail FROM order_events e WHERE e.order_id = $1 AND e.kind = 'conflict_resolved' ORDER BY e.id",
    )
    .bind(order_id.parse::<i64>().unwrap())
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].0.starts_with("applied the supplier's answer"));
    // The timeline: the buyer sees every failed attempt while Odoo was down, each event
    // in its thread; the supplier sees its part, without Odoo's errors.
    let kinds = |d: &OrderDetail| -> Vec<(String, String)> {
        d.events
            .iter()
            .map(|e| (e.kind.clone(), e.group.clone()))
            .collect()
    };
    let staff = buyer.order_detail(&order_id).await;
    let staff = kinds(&staff);
    assert!(
        staff.contains(&("delivery_failed".into(), "delivery".into())),
        "{staff:?}"
    );
    assert!(
        staff.contains(&("conflict".into(), "delivery".into())),
        "{staff:?}"
    );
    assert!(
        staff.contains(&("conflict_resolved".into(), "buyer".into())),
        "{staff:?}"
    );
    assert!(
        staff.contains(&("changed_in_odoo".into(), "odoo".into())),
        "{staff:?}"
    );
    let own = ana.order_detail(&order_id).await;
    let own = kinds(&own);
    assert!(!own.iter().any(|(k, _)| k == "delivery_failed"), "{own:?}");
    assert!(
        own.contains(&("conflict_resolved".into(), "buyer".into())),
        "{own:?}"
    );
    assert!(
        own.contains(&("line_answered".into(), "supplier".into())),
        "{own:?}"
    );
    assert!(history[1]
        .0
        .starts_with("asked the supplier to answer every line again"));
    // Nothing left to resolve for this order once the supplier acknowledges again.
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &order_id)])
            .await
            .status(),
        200
    );
    assert!(conflicts().await.iter().all(|c| c.order_name != name));
}

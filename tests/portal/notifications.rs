//! Mail: released and changed orders, the exceptions digest, an organisation's mail
//! preferences.

use super::*;

/// Creates and confirms a purchase order in the double, as a buyer would in Odoo.
fn release_order_in_odoo(double: &RunningDouble, vendor: i64) -> String {
    double.with_env(|env| {
        let admin = env.users[0].clone();
        let planned = (chrono::Utc::now() + chrono::Duration::days(20))
            .format("%Y-%m-%d 08:00:00")
            .to_string();
        let mut params = serde_json::Map::new();
        params.insert(
            "vals_list".into(),
            json!([{"partner_id": vendor, "user_id": 2, "order_line": [[0, 0, {
                "product_id": 19, "product_qty": 4.0, "price_unit": 12.5, "date_planned": planned
            }]]}]),
        );
        let id = env
            .execute(&admin, "purchase.order", "create", None, params)
            .unwrap()[0]
            .as_i64()
            .unwrap();
        env.execute(
            &admin,
            "purchase.order",
            "button_confirm",
            Some(vec![id]),
            serde_json::Map::new(),
        )
        .unwrap();
        env.value("purchase.order", id, "name")
            .as_str()
            .unwrap()
            .to_string()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_and_changed_orders_are_mailed_to_the_suppliers_users_who_want_it() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    synced_orders(&ana, 1).await;
    // The first sync is history, not news: nobody was mailed about the demo's orders.
    assert!(mails_to(&app, "ana@gemini.example").await.is_empty());
    // Lea turns order mails off (an unticked checkbox is absent from the form).
    let r = lea.post("/api/account/notifications/update", &[]).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let prefs: Value = lea
        .get("/api/account/notifications", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prefs["order_mails"], false);

    let name = release_order_in_odoo(&app.double, 10);
    let body = mail_arrives(
        &app,
        "ana@gemini.example",
        &format!("New purchase order {name}"),
    )
    .await;
    assert!(body.contains("/orders/"), "a link to the order: {body}");
    assert!(mails_to(&app, "lea@gemini.example").await.is_empty());
    assert!(mails_to(&app, "tom@woodcorner.example").await.is_empty());

    // The buyer moves the line in Odoo: Ana hears of it too.
    app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let order = env.ids_where("purchase.order", "name", &json!(name))[0];
        let line = env.ids_where("purchase.order.line", "order_id", &json!(order))[0];
        let mut vals = serde_json::Map::new();
        vals.insert("vals".into(), json!({"product_qty": 6.0}));
        env.execute(
            &admin,
            "purchase.order.line",
            "write",
            Some(vec![line]),
            vals,
        )
        .unwrap();
    });
    eventually("Ana is told about the change", || {
        let (app, name) = (&app, &name);
        async move {
            mails_to(app, "ana@gemini.example")
                .await
                .iter()
                .any(|(subject, body)| {
                    subject == &format!("Purchase order {name} changed")
                        && body.contains("quantity 4 → 6")
                })
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exceptions_digest_goes_to_staff_who_want_it_once_per_period() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page.orders[0].id.to_string();
    let detail = ana.order_detail(&order_id).await;
    let line_id = detail.lines[0].id.to_string();
    let far = (chrono::Utc::now() + chrono::Duration::days(200))
        .date_naive()
        .to_string();
    let r = propose_date(&ana, &order_id, &line_id, &far, "furnace rebuild").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    let send = || {
        millrace::server::notify::send_digests(
            &app.db,
            millrace::server::exceptions::Windows {
                ack_hours: 24,
                planning_refresh_hours: 192,
            },
            "http://portal.example",
            chrono::Duration::hours(24),
            None,
        )
    };
    assert_eq!(send().await.unwrap(), 2, "the buyer and the admin");
    let (subject, body) = mails_to(&app, "buyer@millrace.example")
        .await
        .pop()
        .unwrap();
    assert!(
        subject.contains("exceptions need the purchasing team"),
        "{subject}"
    );
    assert!(body.contains("Proposals awaiting a decision (1)"), "{body}");
    assert!(
        body.contains("furnace") || body.contains(&detail.name),
        "{body}"
    );
    assert!(body.contains("http://portal.example/buyer/exceptions"));
    assert_eq!(send().await.unwrap(), 0, "once per period");

    // The buyer asks for it now; a supplier cannot.
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let r = buyer.post("/api/account/digest-now", &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("on its way"));
    assert_eq!(mails_to(&app, "buyer@millrace.example").await.len(), 2);
    assert_eq!(ana.post("/api/account/digest-now", &[]).await.status(), 403);

    // Turned off, it stops (the admin still gets it).
    let r = buyer.post("/api/account/notifications/update", &[]).await;
    assert_eq!(r.status(), 200);
    sqlx::query("UPDATE users SET digest_sent_at = NULL")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(send().await.unwrap(), 1);
    assert_eq!(mails_to(&app, "buyer@millrace.example").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_turns_order_mail_off_or_copies_it_to_its_shared_mailbox() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    synced_orders(&ana, 1).await;
    let (gemini, wood): (i64, i64) = {
        let id = |partner: i64| {
            let db = app.db.clone();
            async move {
                let (id,): (i64,) =
                    sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = $1")
                        .bind(partner)
                        .fetch_one(&db)
                        .await
                        .unwrap();
                id
            }
        };
        (id(10).await, id(11).await)
    };
    let team: Value = ana
        .get("/api/team/list", &[("supplier", "")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(team["mail"], json!({"notify_orders": true, "copy_to": ""}));

    // A supplier user may not; a bad address gets a message; another organisation's id
    // still means the supplier admin's own.
    let form = |on: bool, copy: &'static str, supplier: i64| {
        let mut f = vec![
            ("supplier", supplier.to_string()),
            ("copy_to", copy.to_string()),
        ];
        if on {
            f.push(("notify_orders", "on".to_string()));
        }
        f
    };
    assert_eq!(
        send(&lea, "/api/team/mail", form(false, "", gemini)).await,
        403
    );
    assert_eq!(
        send(
            &ana,
            "/api/team/mail",
            form(true, "orders at gemini", gemini)
        )
        .await,
        422
    );
    assert_eq!(
        send(
            &ana,
            "/api/team/mail",
            form(true, "Orders@Gemini.example", wood)
        )
        .await,
        200
    );
    use millrace::server::db::typed::Flag;
    let stored: Vec<(i64, Flag, Option<String>)> =
        sqlx::query_as("SELECT id, notify_orders, order_mail_copy_to FROM suppliers WHERE id IN ($1, $2) ORDER BY id")
            .bind(gemini)
            .bind(wood)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(
        stored.contains(&(gemini, Flag(true), Some("orders@gemini.example".into()))),
        "{stored:?}"
    );
    assert!(stored.contains(&(wood, Flag(true), None)), "{stored:?}");

    // A released order: Ana, and the shared mailbox once.
    let name = release_order_in_odoo(&app.double, 10);
    let copy = mail_arrives(
        &app,
        "orders@gemini.example",
        &format!("New purchase order {name}"),
    )
    .await;
    assert!(copy.starts_with("Hello Gemini Furniture"), "{copy}");
    assert!(copy.contains("shared mailbox"), "{copy}");
    assert_eq!(mails_to(&app, "ana@gemini.example").await.len(), 1);

    // Order mail off for the organisation: nobody is mailed about the next one.
    assert_eq!(
        send(
            &ana,
            "/api/team/mail",
            form(false, "orders@gemini.example", gemini)
        )
        .await,
        200
    );
    let next = release_order_in_odoo(&app.double, 10);
    eventually("the next order is in the portal", || {
        let (ana, next) = (&ana, &next);
        async move { ana.order_page(next).await.total == 1 }
    })
    .await;
    assert_eq!(mails_to(&app, "ana@gemini.example").await.len(), 1);
    assert_eq!(mails_to(&app, "orders@gemini.example").await.len(), 1);
    // Each user is told why their own setting does nothing now.
    let prefs: Value = lea
        .get("/api/account/notifications", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prefs["organisation_off"], true);
    let audit: Vec<(String,)> = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'organisation_mail_changed' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        audit.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(),
        [
            "order mails on; copy to orders@gemini.example",
            "order mails off; copy to orders@gemini.example"
        ]
    );
}

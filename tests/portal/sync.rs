//! The way to and from Odoo: deliveries that survive faults, dead letters, webhooks,
//! reconciliation, receipts, the connection and its key.

use super::*;
use millrace::domain::order::OrderStatus;
use millrace::model::sync::DeadLetterView;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_survive_odoo_being_down_and_lost_replies_without_doubling() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 3).await;
    // Every reply is lost after Odoo wrote: the worker must not post a second note.
    app.double.set_faults(Faults {
        lost_reply_rate: 1.0,
        ..Default::default()
    });
    let order = &page.orders[0];
    let r = ana
        .post(
            "/api/orders/acknowledge",
            &[("order_id", &order.id.to_string())],
        )
        .await;
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.double.set_faults(Faults::default());
    // Move time past the backoff instead of waiting it out.
    app.clock.advance(chrono::Duration::days(1));
    let name = order.name.clone();
    eventually("delivered after the faults stop", || {
        let db = app.db.clone();
        async move {
            let (n,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM outbox_messages WHERE status = 'delivered'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
            n == 1
        }
    })
    .await;
    let (_, acknowledged, notes) = odoo_order(&app.double, &name);
    assert!(acknowledged);
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("Acknowledged by"))
            .count(),
        1,
        "{notes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_odoo_after_the_answer_shows_as_changed() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page.orders[0].id.to_string();
    let name = page.orders[0].name.clone();
    ana.post("/api/orders/acknowledge", &[("order_id", &order_id)])
        .await;
    // The buyer edits a quantity in Odoo.
    let line_id = app.double.with_env(|env| {
        let po = env
            .table("purchase.order")
            .find(|(_, r)| r["name"] == name.as_str())
            .map(|(i, _)| *i)
            .unwrap();
        env.table("purchase.order.line")
            .find(|(_, l)| l["order_id"] == po)
            .map(|(i, _)| *i)
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(1100)).await; // a later write_date second
    app.double.with_env(|env| {
        let user = env.users[0].clone();
        let mut p = serde_json::Map::new();
        p.insert("vals".into(), serde_json::json!({"product_qty": 999.0}));
        env.execute(
            &user,
            "purchase.order.line",
            "write",
            Some(vec![line_id]),
            p,
        )
        .unwrap();
    });
    eventually("the portal shows the change", || {
        let ana = &ana;
        let order_id = order_id.clone();
        async move {
            let d = ana.order_detail(&order_id).await;
            d.status == OrderStatus::ChangedInOdoo
                && d.change_summary.is_some_and(|s| s.contains("999"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_is_dead_lettered_and_only_staff_can_replay_or_discard_it() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    // Odoo refuses everything for a while: the API key stops working (a permanent error).
    let key = app
        .double
        .with_env(|env| std::mem::replace(&mut env.users[0].api_keys, vec!["revoked".into()]));
    let order_id = page.orders[0].id.to_string();
    assert_eq!(
        ana.post("/api/orders/acknowledge", &[("order_id", &order_id)])
            .await
            .status(),
        200
    );
    eventually("the message is dead-lettered at once", || {
        let db = app.db.clone();
        async move {
            let row: Option<(String, i64)> =
                sqlx::query_as("SELECT status, attempts FROM outbox_messages")
                    .fetch_optional(&db)
                    .await
                    .unwrap();
            row.is_some_and(|(s, a)| s == "dead" && a == 1)
        }
    })
    .await;

    // A supplier may not see or touch dead letters.
    assert_eq!(ana.get("/api/sync/dead-letters", &[]).await.status(), 403);
    assert_eq!(
        ana.post("/api/sync/replay", &[("id", "1")]).await.status(),
        403
    );

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let letters: Vec<DeadLetterView> = buyer.json_as("/api/sync/dead-letters", &[]).await;
    assert_eq!(letters[0].kind, "acknowledge");
    assert_eq!(
        letters[0].supplier_name.as_deref(),
        Some("Gemini Furniture")
    );
    assert!(
        letters[0]
            .error
            .as_deref()
            .unwrap()
            .contains("odoo refused"),
        "{letters:?}"
    );
    let id = letters[0].id.to_string();
    assert_eq!(
        buyer
            .post("/api/sync/discard", &[("id", &id), ("reason", " ")])
            .await
            .status(),
        422
    );

    // The key is fixed in Odoo; the buyer replays and the acknowledgment arrives once.
    app.double.with_env(|env| env.users[0].api_keys = key);
    assert_eq!(
        buyer
            .post("/api/sync/replay", &[("id", &id)])
            .await
            .status(),
        200
    );
    let name = page.orders[0].name.clone();
    eventually("delivered after replay", || {
        let (_, acknowledged, _) = odoo_order(&app.double, &name);
        async move { acknowledged }
    })
    .await;
    let (audits,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'outbox_replay'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odoo_webhook_makes_a_new_order_show_at_once_but_is_never_trusted_as_data() {
    let app = spawn_app_with(|s| {
        s.poll_interval = Duration::from_secs(3600);
        s.webhook_token = Some(millrace::server::settings::Secret::new("hook-secret-123"));
    })
    .await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    eventually("the first poll has stored its cursor", || {
        let db = app.db.clone();
        async move {
            sqlx::query("SELECT 1 FROM sync_cursors")
                .fetch_optional(&db)
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    let before = ana.order_page("").await.total;
    // A buyer confirms a new order for Gemini Furniture in Odoo.
    let id = app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let mut p = serde_json::Map::new();
        p.insert("vals_list".into(), json!([{"partner_id": 10, "order_line": [[0, 0, {"product_id": 19, "product_qty": 3.0, "price_unit": 9.5}]]}]));
        let id = env.execute(&admin, "purchase.order", "create", None, p).unwrap()[0].as_i64().unwrap();
        env.execute(&admin, "purchase.order", "button_confirm", Some(vec![id]), serde_json::Map::new()).unwrap();
        id
    });
    let name = app
        .double
        .with_env(|env| env.value("purchase.order", id, "name"));
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/hooks/odoo/wrong-token", app.url))
        .json(&json!({"_model": "purchase.order", "_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ana.order_page("").await.total,
        before,
        "no poll without a valid webhook"
    );
    let r = http
        .post(format!("{}/hooks/odoo/hook-secret-123", app.url))
        .json(&json!({"_action": "Send Webhook Notification(#1)", "_model": "purchase.order", "_id": id, "name": "FORGED", "state": "purchase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    eventually("the order is there after the webhook", || {
        let ana = &ana;
        async move { ana.order_page("").await.total == before + 1 }
    })
    .await;
    let name = name.as_str().unwrap();
    let found = ana.order_page(name).await;
    assert_eq!(
        found.orders[0].name, name,
        "the name comes from Odoo, not the webhook body"
    );
    assert_eq!(ana.order_page("FORGED").await.total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_hides_orders_odoo_no_longer_releases_to_the_supplier() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let total = page.total;
    let name = page.orders[0].name.clone();
    let order_id = page.orders[0].id.to_string();
    assert_eq!(move_to_unserved_vendor_and_reconcile(&app, &name).await, 1);
    assert_eq!(ana.order_page("").await.total, total - 1);
    assert_eq!(ana.order(&order_id).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_shows_odoos_receipts_and_follows_them_when_the_warehouse_validates() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order = page
        .orders
        .iter()
        .find(|o| o.status == OrderStatus::New)
        .unwrap();
    let id = order.id.to_string();
    let name = order.name.clone();
    let detail = ana.order_detail(&id).await;
    assert_eq!(
        detail.receipts[0].state, "assigned",
        "{:?}",
        detail.receipts
    );
    let receipt_name = detail.receipts[0].name.clone();
    assert!(receipt_name.starts_with("WH/IN/"));

    // The warehouse validates the receipt in Odoo: everything arrives.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.double.with_env(|env| {
        let admin = env.users[0].clone();
        let po = env.ids_where("purchase.order", "name", &json!(name))[0];
        let picking = env.ids_where("stock.picking", "purchase_id", &json!(po))[0];
        env.execute(
            &admin,
            "stock.picking",
            "button_validate",
            Some(vec![picking]),
            serde_json::Map::new(),
        )
        .unwrap();
    });
    eventually(
        "the portal shows the receipt done and the order received",
        || {
            let ana = &ana;
            let id = id.clone();
            async move {
                let d = ana.order_detail(&id).await;
                d.receipts.first().is_some_and(|r| r.state == "done")
                    && d.status == OrderStatus::Received
                    && d.lines.first().is_some_and(|l| l.open_quantity == "0")
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_the_database_migrations_worker_and_odoo_and_metrics_are_exposed() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let r = http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
    assert_eq!(
        ready["migrations"]["applied"],
        ready["migrations"]["expected"]
    );
    assert_eq!(ready["outbox_worker"], "alive");
    assert_eq!(ready["odoo"]["reachable"], true);

    // Odoo goes down: the portal stays ready (actions are kept) and says for how long.
    app.double.set_faults(Faults {
        down: true,
        ..Default::default()
    });
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    ana.post(
        "/api/orders/acknowledge",
        &[("order_id", &page.orders[0].id.to_string())],
    )
    .await;
    eventually("readyz sees Odoo down", || {
        let http = http.clone();
        let url = app.url.clone();
        async move {
            let r: Value = http
                .get(format!("{url}/readyz"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["ready"] == true
                && r["odoo"]["reachable"] == false
                && r["odoo"]["unreachable_for_seconds"].as_i64().is_some()
        }
    })
    .await;
    let metrics = http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "millrace_http_request_duration_seconds_bucket{route=\"/api/orders/list\"",
        "millrace_odoo_call_duration_seconds_count{model=\"purchase.order\"",
        "millrace_outbox_deliveries_total{outcome=\"retry\"}",
        "millrace_outbox_depth 1",
        "millrace_active_sessions",
        "millrace_outbox_oldest_pending_age_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    app.double.set_faults(Faults::default());
}

/// The double as an Odoo user managing their API keys (Preferences → Account Security).
fn odoo_api_key(double: &RunningDouble, add: Option<&str>, revoke: Option<&str>) {
    double.with_env(|env| {
        let user = &mut env.users[0];
        if let Some(k) = add {
            user.api_keys.push(k.to_string());
        }
        if let Some(k) = revoke {
            user.api_keys.retain(|x| x != k);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_rotates_the_odoo_api_key_on_the_page_and_deliveries_go_on() {
    use millrace::server::secrets::SealingKeys;
    let server_key = SealingKeys::generate();
    let sealing = SealingKeys::parse(&server_key, &[]).unwrap();
    let app = spawn_app_with(|s| s.sealing = Some(sealing.clone())).await;
    let old_key = app.double.config.api_key.clone();
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let form = |key: &'static str, intent: &'static str, url: String| {
        vec![
            ("url", url),
            ("database", "mfg".to_string()),
            ("login", "admin".to_string()),
            ("api_key", key.to_string()),
            ("intent", intent.to_string()),
        ]
    };

    // Nobody but an admin reads or changes the connection.
    for b in [&ana, &buyer] {
        assert_eq!(b.get("/api/admin/odoo", &[]).await.status(), 403);
        let r = apply(b, form("x", "save", app.double.url.clone())).await;
        assert_eq!(r.status(), 403);
    }
    let view: Value = admin
        .get("/api/admin/odoo", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["source"], "Environment");
    assert_eq!(view["running_revision"], 0);
    assert!(
        view["connected"].as_str().unwrap().starts_with("Odoo 19"),
        "{view}"
    );
    assert!(
        !view.to_string().contains(&old_key),
        "the key is never shown back"
    );

    // Wrong input and wrong keys: a message to act on, nothing stored.
    let r = apply(
        &admin,
        form("new-key-2", "save", "ftp://odoo.example".into()),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("must start with https://"));
    let r = apply(&admin, form("not-a-key", "test", app.double.url.clone())).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Odoo refused login 'admin' with this API key: check the login and the API key"));
    let r = apply(&admin, form("not-a-key", "save", app.double.url.clone())).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("{\"Invalid\":\"Not saved: "));
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM odoo_connection")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.0, 0);

    // Rotation: a second key in Odoo, tested, saved here, then the first revoked in Odoo.
    odoo_api_key(&app.double, Some("new-key-2"), None);
    let r = apply(&admin, form("new-key-2", "test", app.double.url.clone())).await;
    assert_eq!(r.status(), 200);
    let tested: Value = r.json().await.unwrap();
    assert!(tested["saved_revision"].is_null());
    assert!(tested["lines"][0]
        .as_str()
        .unwrap()
        .starts_with("server: Odoo 19"));
    let r = apply(
        &admin,
        form("new-key-2", "save", format!("{}/", app.double.url)),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["saved_revision"], 1);
    odoo_api_key(&app.double, None, Some(&old_key));

    // Stored sealed: no column holds the key, nor does the audit log.
    let row: (String, String, String, String, String, i64) = sqlx::query_as(
        "SELECT url, login, key_id, api_key_nonce, api_key_sealed, revision FROM odoo_connection",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(row.0, app.double.url, "the trailing slash is dropped");
    assert!(![&row.2, &row.3, &row.4]
        .iter()
        .any(|c| c.contains("new-key-2")));
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, detail FROM audit_log WHERE action LIKE 'odoo_connection%' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "odoo_connection_tested",
            "odoo_connection_refused",
            "odoo_connection_tested",
            "odoo_connection_saved"
        ]
    );
    assert!(audit[3].1.contains("API key replaced"), "{audit:?}");
    assert!(!audit
        .iter()
        .any(|(_, d)| d.contains("new-key-2") || d.contains(&old_key)));

    // The running worker uses the new key: an acknowledgment reaches Odoo, the old key revoked.
    let name = acknowledge_first(&ana).await;
    eventually("acknowledged in Odoo with the new key", || {
        let (_, acknowledged, _) = odoo_order(&app.double, &name);
        async move { acknowledged }
    })
    .await;
    let view: Value = admin
        .get("/api/admin/odoo", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["source"], "AdminPage");
    assert_eq!(
        (view["revision"].clone(), view["running_revision"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(view["saved_by"], "admin@millrace.example");

    // Every instance reports the revision it runs on (here, one).
    eventually("this instance is listed on revision 1", || async {
        let v: Value = admin
            .get("/api/admin/odoo", &[])
            .await
            .json()
            .await
            .unwrap();
        v["instances"]
            .as_array()
            .is_some_and(|i| i.len() == 1 && i[0]["this"] == true && i[0]["revision"] == 1)
    })
    .await;

    // The key in use is never sent elsewhere: another URL wants the key typed again.
    let r = apply(&admin, form("", "test", "http://127.0.0.1:9".into())).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Type the API key again"));
    // Another Odoo database (the same key works there) is refused: the portal's orders
    // are not in it.
    let other = common::start_double(19, Seed::Empty).await;
    odoo_api_key(&other, Some("new-key-2"), None);
    let r = apply(&admin, form("new-key-2", "save", other.url.clone())).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("it looks like another database"));

    // Saving with the key left empty keeps it.
    let r = apply(&admin, form("", "save", app.double.url.clone())).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let audit: (String,) = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'odoo_connection_saved' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        audit.0.starts_with("revision 2: API key kept"),
        "{}",
        audit.0
    );

    // Another instance, started with the environment's (now revoked) key, uses what was
    // saved; without the server key it says what is missing instead of guessing.
    let mut other = Settings::for_tests();
    other.odoo = Some(common::odoo_settings(&app.double, TransportChoice::Auto));
    other.sealing = Some(SealingKeys::parse(&server_key, &[]).unwrap());
    let (wanted, revision) = millrace::server::connection::wanted(&app.db, &other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((wanted.api_key.expose(), revision), ("new-key-2", 2));
    other.sealing = None;
    let e = millrace::server::connection::wanted(&app.db, &other)
        .await
        .unwrap_err();
    assert!(e.contains("MILLRACE_SECRET_KEY"), "{e}");
    // After a server key rotation the stored key opens with the previous key.
    let next = SealingKeys::generate();
    other.sealing = Some(SealingKeys::parse(&next, &[&server_key]).unwrap());
    let (wanted, _) = millrace::server::connection::wanted(&app.db, &other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wanted.api_key.expose(), "new-key-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_serves_while_odoo_is_unreachable_and_an_admin_fixes_the_url_without_a_restart()
{
    use millrace::server::secrets::SealingKeys;
    let sealing = SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap();
    // MILLRACE_ODOO_URL points at nothing.
    let app = spawn_app_unsynced(|s| {
        s.sealing = Some(sealing.clone());
        if let Some(o) = s.odoo.as_mut() {
            o.url = "http://127.0.0.1:9".into();
        }
    })
    .await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    assert_eq!(ana.order_page("").await.total, 0);
    eventually("the admin page says why", || async {
        let v: Value = admin
            .get("/api/admin/odoo", &[])
            .await
            .json()
            .await
            .unwrap();
        v["connected"].is_null()
            && v["problem"].as_str().is_some_and(|p| {
                p.contains("cannot reach http://127.0.0.1:9")
                    && p.contains("check MILLRACE_ODOO_URL")
            })
    })
    .await;
    let ready: Value = reqwest::get(format!("{}/readyz", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["odoo_connection"]["configured"], true, "{ready}");
    // Readiness says there is a problem, not what it is (the page is for admins).
    assert_eq!(ready["odoo_connection"]["problem"], true, "{ready}");
    assert_eq!(ready["odoo_connection"]["current"], false, "{ready}");

    // The right URL, with the key typed again: saved, connected, synced; no restart.
    let key = app.double.config.api_key.clone();
    let form = vec![
        ("url", app.double.url.clone()),
        ("database", "mfg".to_string()),
        ("login", "admin".to_string()),
        ("api_key", key),
        ("intent", "save".to_string()),
    ];
    let r = apply(&admin, form).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    synced_orders(&ana, 1).await;
    let v: Value = admin
        .get("/api/admin/odoo", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(v["problem"].is_null(), "{v}");
    assert_eq!(v["running_revision"], 1);
}

/// Asks the poller to poll now (the webhook), as Odoo would after a change.
async fn poke_poller(app: &TestApp) {
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let r = http
            .post(format!("{}/hooks/odoo/hook-secret-123", app.url))
            .json(&json!({"_model": "purchase.order"}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await; // rate limited
    }
    panic!("the webhook never took the poke");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portals_own_write_read_back_is_no_change_by_the_buyer_whatever_became_of_the_answer() {
    // Polls only when poked: the order of events below is the test's.
    let app = spawn_app_with(|s| {
        s.poll_interval = Duration::from_secs(3600);
        s.webhook_token = Some(millrace::server::settings::Secret::new("hook-secret-123"));
    })
    .await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let page = synced_orders(&ana, 1).await;
    let order_id = page.orders[0].id.to_string();
    let name = page.orders[0].name.clone();
    let detail = ana.order_detail(&order_id).await;
    let line = &detail.lines[0];
    let requested =
        chrono::NaiveDate::parse_from_str(&line.date_planned.as_deref().unwrap()[..10], "%Y-%m-%d")
            .unwrap();
    let inside = (requested + chrono::Duration::days(1)).to_string();
    let line_id = line.id.to_string();
    // The supplier moves the date within tolerance: the portal writes it to Odoo.
    let r = propose_date(&ana, &order_id, &line_id, &inside, "changeover").await;
    assert_eq!(r.status(), 200);
    eventually("the date is in Odoo", || async {
        odoo_line(&app.double, &name, 0).1.starts_with(&inside)
    })
    .await;
    // Then accepts the line as it now stands (the proposal is gone), before any poll.
    let r = ana
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", &order_id),
                ("line_id", &line_id),
                ("answer", "accept"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    // The poller reads the portal's own write back: not the buyer's change.
    poke_poller(&app).await;
    eventually("the poller has read the new date", || async {
        let d = ana.order_detail(&order_id).await;
        d.lines
            .first()
            .and_then(|l| l.date_planned.as_deref())
            .is_some_and(|d| d.starts_with(&inside))
    })
    .await;
    let d = ana.order_detail(&order_id).await;
    assert!(d.change_summary.is_none(), "{:?}", d.change_summary);
    assert_ne!(d.status, OrderStatus::ChangedInOdoo);
}

//! Onboarding: organisations linked to Odoo vendors, invitations, and what an
//! organisation's admin may manage.

use super::*;

/// The invitation link in the newest mail to `to`.
async fn invitation_token(app: &TestApp, to: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let link = body
        .lines()
        .find(|l| l.contains("/password-reset/"))
        .expect("a link in the invitation");
    link.trim().rsplit('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_links_a_vendor_and_its_invited_admin_sees_only_its_own_orders() {
    let app = spawn_app().await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;

    // Odoo's vendors by name; the three demo organisations are linked already.
    let r = admin.get("/api/admin/suppliers", &[("q", "azure")]).await;
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    let hit = &view["hits"][0];
    assert_eq!(hit["name"], "Azure Interior");
    assert!(hit["linked_supplier_id"].is_null());
    let r = admin.get("/api/admin/suppliers", &[("q", "gemini")]).await;
    let view: Value = r.json().await.unwrap();
    assert!(view["hits"][0]["linked_supplier_id"].is_i64());

    let r = admin
        .post("/api/admin/link-vendor", &[("partner_id", "13")])
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let (azure,): (i64,) = sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = 13")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Once per commercial partner: again, or through its contact person (23), is refused.
    for partner in ["13", "23"] {
        let r = admin
            .post("/api/admin/link-vendor", &[("partner_id", partner)])
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("linked already"));
    }

    // Settings: a clear message for nonsense, nothing stored; then stored.
    let settings = |ack: &'static str| {
        vec![
            ("supplier_id", azure.to_string()),
            ("ack_window_hours", ack.to_string()),
            ("date_tolerance_days", "3".to_string()),
            ("quantity_tolerance_percent", "7.5".to_string()),
            ("over_delivery_percent", String::new()),
        ]
    };
    let form = settings("soon");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = admin.post("/api/admin/supplier-settings", &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("acknowledgment window must be a whole number"));
    let form = settings("48");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = admin.post("/api/admin/supplier-settings", &fields).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let stored: (Option<i64>, Option<i64>, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT ack_window_hours, date_tolerance_days, quantity_tolerance_percent, over_delivery_percent FROM suppliers WHERE id = $1",
    )
    .bind(azure)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, (Some(48), Some(3), Some("7.5".into()), None));

    // An invitation: no password until the link is used, once.
    let r = admin
        .post(
            "/api/team/invite",
            &[
                ("supplier", &azure.to_string()),
                ("email", "Zoe@Azure.example"),
                ("display_name", "Zoe Martin"),
                ("role", "supplier_admin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let mut zoe = Browser::open(&app.url).await;
    let r = zoe.sign_in("zoe@azure.example", "").await;
    assert!(!r.status().is_success());
    let token = invitation_token(&app, "zoe@azure.example").await;
    let (invitation,): (String,) =
        sqlx::query_as("SELECT body FROM mail_outbox WHERE to_address = 'zoe@azure.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(invitation.contains("for Azure Interior"), "{invitation}");
    let r = choose_password(&zoe, &token, "zoe-chose-this-one", "zoe-chose-this-one").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = choose_password(&zoe, &token, "zoe-chose-another", "zoe-chose-another").await;
    assert_eq!(r.status(), 422, "the link works once");
    let r = zoe.sign_in("zoe@azure.example", "zoe-chose-this-one").await;
    assert!(r.status().is_success() || r.status().is_redirection());

    // Azure's orders arrive (the link reset the cursor); nobody else's.
    let page = synced_orders(&zoe, 1).await;
    assert!(page
        .orders
        .iter()
        .all(|o| o.supplier_name == "Azure Interior"));
    let (gemini_order,): (i64,) = sqlx::query_as(
        "SELECT o.id FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id WHERE s.odoo_partner_id = 10 LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(zoe.order(&gemini_order.to_string()).await.status(), 404);

    // Every step is in the audit log, with who did it.
    let r = admin
        .get(
            "/api/admin/audit",
            &[
                ("action", ""),
                ("actor", "admin@"),
                ("from", ""),
                ("to", ""),
            ],
        )
        .await;
    let entries: Value = r.json().await.unwrap();
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "supplier_linked",
        "supplier_settings_changed",
        "user_invited",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(entries
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "admin@millrace.example"));
    // Filters take `_` and `%` literally.
    let r = admin
        .get(
            "/api/admin/audit",
            &[
                ("action", "user_invited"),
                ("actor", ""),
                ("from", ""),
                ("to", ""),
            ],
        )
        .await;
    let entries: Value = r.json().await.unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["target"], "zoe@azure.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplier_admin_manages_its_own_organisation_only() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let lea = signed_in(&app, "lea@gemini.example", "gemini-user-pass").await;
    let (gemini, wood): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT id FROM suppliers WHERE odoo_partner_id = 10), (SELECT id FROM suppliers WHERE odoo_partner_id = 11)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();

    // Not a staff role, and not into another organisation: the colleague lands in Gemini.
    let invite = |role: &'static str, email: &'static str, org: i64| {
        let ana = &ana;
        async move {
            ana.post(
                "/api/team/invite",
                &[
                    ("supplier", &org.to_string()),
                    ("email", email),
                    ("display_name", "New Colleague"),
                    ("role", role),
                ],
            )
            .await
        }
    };
    let r = invite("buyer", "eve@gemini.example", gemini).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("own organisation"));
    let r = invite("supplier_user", "max@gemini.example", wood).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (org,): (Option<i64>,) =
        sqlx::query_as("SELECT supplier_id FROM users WHERE email = 'max@gemini.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(org, Some(gemini));
    let r = invite("supplier_user", "max@gemini.example", gemini).await;
    assert_eq!(r.status(), 422, "the same address twice");
    let r = invite("supplier_user", "not-an-address", gemini).await;
    assert_eq!(r.status(), 422);

    // The team is Gemini's, whatever is asked for.
    let team: Value = ana
        .get("/api/team/list", &[("supplier", &wood.to_string())])
        .await
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"lea@gemini.example") && !emails.contains(&"tom@woodcorner.example"));

    // A supplier user manages nothing; nobody at a supplier reaches the admin functions.
    let r = lea
        .post(
            "/api/team/invite",
            &[
                ("supplier", ""),
                ("email", "x@gemini.example"),
                ("display_name", "X"),
                ("role", "supplier_user"),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        lea.get("/api/team/list", &[("supplier", "")])
            .await
            .status(),
        403
    );
    for path in ["/api/admin/suppliers", "/api/admin/audit"] {
        let r = ana
            .get(
                path,
                &[
                    ("q", ""),
                    ("action", ""),
                    ("actor", ""),
                    ("from", ""),
                    ("to", ""),
                ],
            )
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    assert_eq!(
        buyer
            .get("/api/admin/suppliers", &[("q", "")])
            .await
            .status(),
        403
    );

    // Another organisation's user is out of reach; a colleague's session ends at once.
    let (tom,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'tom@woodcorner.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let r = ana
        .post(
            "/api/team/set-active",
            &[("user_id", &tom.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let (lea_id,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'lea@gemini.example'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lea.orders_page("", "").await.status(), 200);
    let r = ana
        .post(
            "/api/team/set-active",
            &[("user_id", &lea_id.to_string()), ("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(lea.orders_page("", "").await.status(), 401);
    let mut lea_again = Browser::open(&app.url).await;
    let r = lea_again
        .sign_in("lea@gemini.example", "gemini-user-pass")
        .await;
    assert!(
        !r.status().is_success(),
        "a deactivated account cannot sign in"
    );
    let r = ana
        .post(
            "/api/team/set-active",
            &[("user_id", &lea_id.to_string()), ("active", "true")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = lea_again
        .sign_in("lea@gemini.example", "gemini-user-pass")
        .await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "reactivated"
    );
}

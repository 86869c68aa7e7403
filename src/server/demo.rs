//! Demo data on the portal side: suppliers linked to the double's demo vendors, one login
//! per role, and the double's main warehouse as planning location `WH`. Idempotent: running
//! the demo twice on the same data directory changes nothing.

use crate::odoo_double::seed::DEMO_VENDORS;
use crate::server::auth::users::create_user;
use crate::server::auth::Role;
use crate::server::db::{self, Db};

/// Each demo user's time zone, so the demo shows times converted.
const DEMO_TIME_ZONES: &[(&str, &str)] = &[
    ("ana@gemini.example", "Europe/Brussels"),
    ("tom@woodcorner.example", "Europe/London"),
    ("lea@gemini.example", "Europe/Paris"),
    ("buyer@millrace.example", "America/Los_Angeles"),
];

/// (role, email, password, display name, index into DEMO_VENDORS for supplier users)
pub const DEMO_LOGINS: &[(Role, &str, &str, &str, Option<usize>)] = &[
    (
        Role::SupplierAdmin,
        "ana@gemini.example",
        "gemini-demo-pass",
        "Ana Silva",
        Some(0),
    ),
    (
        Role::SupplierAdmin,
        "tom@woodcorner.example",
        "woodcorner-demo-pass",
        "Tom Baker",
        Some(1),
    ),
    (
        Role::SupplierUser,
        "lea@gemini.example",
        "gemini-user-pass",
        "Lea Roux",
        Some(0),
    ),
    (
        Role::Buyer,
        "buyer@millrace.example",
        "buyer-demo-pass",
        "Bea Buyer",
        None,
    ),
    (
        Role::Planner,
        "planner@millrace.example",
        "planner-demo-pass",
        "Pia Planner",
        None,
    ),
    (
        Role::Admin,
        "admin@millrace.example",
        "admin-demo-pass",
        "Adam Admin",
        None,
    ),
];

/// Links the first three demo vendors as supplier organisations.
pub async fn seed(db: &Db) -> Result<(), sqlx::Error> {
    for (partner, name, _) in DEMO_VENDORS.iter().take(3) {
        sqlx::query(
            "INSERT INTO suppliers (name, odoo_partner_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (odoo_partner_id) DO NOTHING",
        )
        .bind(name)
        .bind(partner)
        .bind(db::now())
        .execute(db)
        .await?;
    }
    for (role, email, password, name, vendor) in DEMO_LOGINS {
        let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(db)
            .await?;
        if exists.is_some() {
            continue;
        }
        let supplier_id = match vendor {
            Some(i) => {
                let (id,): (i64,) =
                    sqlx::query_as("SELECT id FROM suppliers WHERE odoo_partner_id = $1")
                        .bind(DEMO_VENDORS[*i].0)
                        .fetch_one(db)
                        .await?;
                Some(id)
            }
            None => None,
        };
        let id = create_user(db, email, name, password, *role, supplier_id).await?;
        if let Some((_, zone)) = DEMO_TIME_ZONES.iter().find(|(e, _)| e == email) {
            sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
                .bind(zone)
                .bind(id)
                .execute(db)
                .await?;
        }
    }
    // The double's main warehouse as a planning location, so a planner's first file maps.
    sqlx::query(
        "INSERT INTO planning_locations (location_code, warehouse_code, warehouse_odoo_id, updated_at) VALUES ('WH', 'WH', 1, $1)
         ON CONFLICT (location_code) DO NOTHING",
    )
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(())
}

/// The demo's webhook subscriber: Gemini's "ERP" receiving every event at the demo's own
/// receiver (`/hooks/demo-receiver`), so `/webhooks` shows real deliveries from the first
/// poll on. Once per database.
pub async fn seed_webhook(
    db: &Db,
    keys: &crate::server::secrets::SealingKeys,
    public_url: &str,
) -> Result<(), sqlx::Error> {
    let (ana, gemini): (i64, i64) =
        sqlx::query_as("SELECT id, supplier_id FROM users WHERE email = $1")
            .bind(DEMO_LOGINS[0].1)
            .fetch_one(db)
            .await?;
    let mut tx = db::write(db).await?;
    let exists: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM webhook_subscriptions WHERE supplier_id = $1")
            .bind(gemini)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        crate::server::webhooks::insert(
            &mut tx,
            keys,
            Some(gemini),
            "Gemini ERP (demo receiver)",
            &format!("{public_url}/hooks/demo-receiver"),
            &[],
            ana,
        )
        .await?;
    }
    tx.commit().await
}

/// Planning items of the demo's source, as its files name them: (item code, the double's
/// product id, base weekly demand, safety stock).
const DEMO_PLANNING_ITEMS: &[(&str, i64, i64, i64)] = &[
    ("MC-1000", 19, 120, 60),
    ("MC-1001", 20, 80, 40),
    ("MC-1002", 21, 400, 150),
    ("MC-1003", 22, 250, 100),
    ("MC-1004", 23, 90, 30),
    ("MC-1011", 30, 1200, 500),
];

/// The demo's planning source.
pub const DEMO_PLANNING_SOURCE: &str = "frepple";

/// A forecast file of the demo's source: 12 weekly buckets from `first_monday`; `revision`
/// 2 is the week-later re-forecast (some items up or down by more than the highlight
/// threshold).
fn demo_forecast_csv(first_monday: chrono::NaiveDate, revision: u32) -> String {
    let mut csv =
        String::from("item,location,bucket_start,bucket,quantity,unit,kind,safety_stock,min,max\n");
    for (i, (item, _, base, safety)) in DEMO_PLANNING_ITEMS.iter().enumerate() {
        for week in 0..12i64 {
            let season = [100, 104, 110, 96, 92, 105, 112, 118, 108, 99, 95, 102][week as usize];
            let mut qty = base * season / 100;
            if revision == 2 {
                qty = match i {
                    0 if week >= 8 => qty * 130 / 100,
                    3 => qty * 75 / 100,
                    _ => qty + (week % 3) - 1,
                };
            }
            csv.push_str(&format!(
                "{item},WH,{},week,{qty},EA,statistical,{safety},{safety},{}\n",
                first_monday + chrono::Duration::weeks(week),
                safety * 4
            ));
        }
    }
    csv
}

/// The demo's planning history, once per database: the source `frepple` with two approved
/// forecast versions a week apart and a third file refused (an item nobody mapped, a
/// negative quantity, a bucket not on a Monday), so every planning screen and the
/// buyers' planning exceptions show something real on first start. Items are mapped
/// explicitly (the demo's orders are not synced yet when this runs) and `EA` is Odoo's
/// "Units".
pub async fn seed_planning(
    db: &Db,
    settings: &crate::server::settings::Settings,
) -> anyhow::Result<()> {
    use crate::domain::planning::SnapshotKind;
    use crate::server::planning::{self, intake};
    let done: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM planning_imports WHERE source = $1 LIMIT 1")
            .bind(DEMO_PLANNING_SOURCE)
            .fetch_optional(db)
            .await?;
    if done.is_some() {
        return Ok(());
    }
    let now = db::now();
    for (item, product, _, _) in DEMO_PLANNING_ITEMS {
        sqlx::query(
            "INSERT INTO planning_items (item_code, product_odoo_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (item_code) DO NOTHING",
        )
        .bind(item)
        .bind(product)
        .bind(&now)
        .execute(db)
        .await?;
    }
    sqlx::query(
        "INSERT INTO planning_units (unit_code, uom_name, factor, updated_at) VALUES ('EA', 'Units', '1', $1) ON CONFLICT (unit_code) DO NOTHING",
    )
    .bind(&now)
    .execute(db)
    .await?;
    let planner_email = DEMO_LOGINS
        .iter()
        .find(|l| l.0 == Role::Planner)
        .map(|l| l.1)
        .unwrap_or_default();
    let planner = demo_user(db, planner_email).await?;
    let today = chrono::Utc::now().date_naive();
    let monday = |d: chrono::NaiveDate| {
        d - chrono::Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ))
    };
    let this_week = monday(today);
    let limits = intake::Limits::of(settings);
    let files = [
        (
            "frepple-forecast-w1.csv",
            demo_forecast_csv(this_week, 1),
            Some(8i64),
        ),
        (
            "frepple-forecast-w2.csv",
            demo_forecast_csv(this_week + chrono::Duration::weeks(1), 2),
            Some(1),
        ),
        (
            "frepple-forecast-w3-draft.csv",
            format!(
                "item,location,bucket_start,bucket,quantity,unit,kind\nMC-1000,WH,{w},week,130,EA,statistical\nMC-1999,WH,{w},week,40,EA,statistical\nMC-1999,WH,{w2},week,44,EA,statistical\nMC-1001,WH,{w},week,-12,EA,statistical\nMC-1002,WH,{odd},week,410,EA,statistical\n",
                w = this_week + chrono::Duration::weeks(2),
                w2 = this_week + chrono::Duration::weeks(3),
                odd = this_week + chrono::Duration::weeks(2) + chrono::Duration::days(2),
            ),
            None,
        ),
    ];
    for (name, body, days_ago) in files {
        let staged = intake::stage_bytes(&limits.upload_dir, body.as_bytes()).await?;
        let sent = intake::Sent {
            kind: SnapshotKind::Forecast,
            source: DEMO_PLANNING_SOURCE.into(),
            snapshot_id: Some(name.trim_end_matches(".csv").to_string()),
            format: intake::Format::Csv,
            file_name: name.into(),
        };
        let received = intake::receive(db, &limits, &planner, &sent, &staged, "demo")
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if let Some(days) = days_ago {
            anyhow::ensure!(
                received.status == "valid",
                "{name} did not validate: {}",
                received.message
            );
            planning::approve(
                db,
                &planner,
                received.import_id,
                "demo",
                None,
                settings.planning_rfqs,
            )
            .await
            .map_err(|e| anyhow::anyhow!("approving {name}: {e}"))?;
            // Dated as a weekly cycle would have sent them.
            let at = db::at(-chrono::Duration::days(days));
            sqlx::query(
                "UPDATE planning_imports SET sent_at = $1, validated_at = $1, approved_at = $1 WHERE id = $2",
            )
            .bind(&at)
            .bind(received.import_id)
            .execute(db)
            .await?;
        }
    }
    Ok(())
}

/// A demo login as the services see it when it is signed in.
async fn demo_user(db: &Db, email: &str) -> anyhow::Result<crate::server::auth::CurrentUser> {
    let (id, display_name, time_zone, role, supplier_id): (
        i64,
        String,
        String,
        String,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT id, display_name, time_zone, role, supplier_id FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_one(db)
    .await?;
    let role = Role::from_code(&role).ok_or_else(|| anyhow::anyhow!("{email}: role {role}"))?;
    let supplier_name = match supplier_id {
        Some(s) => Some(
            sqlx::query_as::<_, (String,)>("SELECT name FROM suppliers WHERE id = $1")
                .bind(s)
                .fetch_one(db)
                .await?
                .0,
        ),
        None => None,
    };
    Ok(crate::server::auth::CurrentUser {
        id,
        email: email.to_string(),
        display_name,
        role,
        supplier_id,
        supplier_name,
        time_zone,
        companies: crate::server::companies::scope_of(db, id, role).await?,
    })
}

/// The demo's trace from the forecast to a supplier's answer (issue 14, part 5), once per
/// database, in the background after the demo starts: when the push has written the rule
/// of the latest demo version's first item that had no rule of the buyer's, Odoo's
/// replenishment orders that item from Gemini (`origin`: the rule's name, as Odoo writes
/// it) and the order is confirmed; the poller links it to its signal; Ana acknowledges it,
/// accepts its line and announces the shipment. Gives up quietly after two minutes.
pub async fn seed_trace(
    db: Db,
    double: std::sync::Arc<crate::odoo_double::RunningDouble>,
    settings: crate::server::settings::Settings,
) -> anyhow::Result<()> {
    use crate::odoo_double::seed::DEMO_VENDORS;
    let linked: Option<(i64,)> =
        sqlx::query_as("SELECT signal_id FROM planning_signal_orders LIMIT 1")
            .fetch_optional(&db)
            .await?;
    if linked.is_some() {
        return Ok(());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let wait = || tokio::time::sleep(std::time::Duration::from_millis(500));
    let (product, rule_name) = loop {
        let applied: Option<(i64, String)> = sqlx::query_as(
            "SELECT s.product_odoo_id, s.odoo_name FROM planning_signals s JOIN planning_imports i ON i.id = s.import_id
             WHERE i.source = $1 AND s.kind = 'rule' AND s.state = 'applied' AND s.odoo_name IS NOT NULL
             ORDER BY i.version DESC, s.id LIMIT 1",
        )
        .bind(DEMO_PLANNING_SOURCE)
        .fetch_optional(&db)
        .await?;
        match applied {
            Some(a) => break a,
            None if std::time::Instant::now() > deadline => return Ok(()),
            None => wait().await,
        }
    };
    let planned = chrono::Utc::now().date_naive() + chrono::Duration::days(10);
    let po = double.with_env(|e| {
        crate::odoo_double::seed::replenish(
            e,
            DEMO_VENDORS[0].0,
            product,
            24.0,
            planned,
            &rule_name,
        )
    });
    let po = po.ok_or_else(|| anyhow::anyhow!("the double refused the replenishment order"))?;
    let order = loop {
        let found: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT o.id, l.id, l.tracking FROM purchase_orders o JOIN purchase_order_lines l ON l.order_id = o.id
             JOIN planning_signal_orders so ON so.order_odoo_id = o.odoo_id WHERE o.odoo_id = $1",
        )
        .bind(po)
        .fetch_optional(&db)
        .await?;
        match found {
            Some(f) => break f,
            None if std::time::Instant::now() > deadline => return Ok(()),
            None => wait().await,
        }
    };
    let (order_id, line_id, tracking) = order;
    let ana = demo_user(&db, DEMO_LOGINS[0].1).await?;
    let refused = |e: crate::server::orders::ActionError| anyhow::anyhow!("{e}");
    crate::server::orders::acknowledge(&db, &ana, order_id, None)
        .await
        .map_err(refused)?;
    let accept = crate::server::orders::AnswerInput {
        answer: "accept".into(),
        proposed_date: String::new(),
        proposed_quantity: String::new(),
        reason: String::new(),
    };
    crate::server::orders::answer_line(
        &db,
        &ana,
        order_id,
        line_id,
        &accept,
        &settings.tolerance,
        None,
    )
    .await
    .map_err(refused)?;
    let today = chrono::Utc::now().date_naive();
    let shipment = crate::model::shipments::ShipmentInput {
        ship_date: today.to_string(),
        expected_arrival: (today + chrono::Duration::days(4)).to_string(),
        carrier: "DHL Freight".into(),
        tracking_number: "JD0146000042".into(),
        package_count: "2".into(),
        lines: vec![crate::model::shipments::ShipmentLineInput {
            line_id,
            quantity: "24".into(),
            lots: match tracking.as_str() {
                "lot" => "GF-LOT-2611".into(),
                "serial" => (1..=24)
                    .map(|n| format!("GF-SN-{n:04}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            },
        }],
    };
    crate::server::shipments::submit(&db, &ana, &shipment, settings.over_delivery_percent, None)
        .await
        .map_err(refused)?;
    Ok(())
}

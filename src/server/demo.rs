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

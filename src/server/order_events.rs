//! An order's history in the portal database: the events shown on the order's timeline,
//! and the portal id of an Odoo order. Below both the order services and the sync, which
//! write events; it imports neither (the event it means for other systems is written by
//! `events`, which reads the order back through `orders::snapshot`).

use crate::server::db::{self, Db, Tx};

/// Adds an event to the order's timeline, in the caller's transaction.
pub async fn record_event(
    tx: &mut Tx<'_>,
    order_id: i64,
    actor: Option<i64>,
    kind: &str,
    detail: &str,
    correlation_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    // The order feed pages by id: ids must follow commit order (`db::feed`).
    db::feed(tx).await?;
    sqlx::query("INSERT INTO order_events (order_id, at, actor_user_id, kind, detail, correlation_id) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(order_id)
        .bind(db::now())
        .bind(actor)
        .bind(kind)
        .bind(detail)
        .bind(correlation_id)
        .execute(&mut **tx)
        .await?;
    // What other systems hear of it (the event feed and webhooks), in the same transaction.
    crate::server::events::for_order(tx, order_id, kind, detail, correlation_id).await
}

/// The portal id of the order Odoo knows as `odoo_id`.
pub async fn order_id_for_odoo(tx: &mut Tx<'_>, odoo_id: i64) -> Result<Option<i64>, sqlx::Error> {
    portal_id(&mut **tx, odoo_id).await
}

/// A writing transaction for the order Odoo knows as `odoo_id`: keyed by its portal id
/// (`db::write_keyed`; an order's portal id never changes and orders are never deleted)
/// when the portal holds it, else by `LockKey::new_order(odoo_id)`, the key every first
/// store of that order takes. Holding it, the order is looked up again: one stored in the
/// meantime (its storer committed before the key was free) is written under its own key.
pub async fn write_for_odoo_order(db: &Db, odoo_id: i64) -> Result<Tx<'static>, sqlx::Error> {
    write_for_odoo_order_and(db, odoo_id, Vec::new()).await
}

/// [`write_for_odoo_order`], holding the keys `more` as well (a submission's,
/// `Submission::lock_keys`).
pub async fn write_for_odoo_order_and(
    db: &Db,
    odoo_id: i64,
    more: Vec<db::LockKey>,
) -> Result<Tx<'static>, sqlx::Error> {
    let mut known = portal_id(db, odoo_id).await?;
    loop {
        let mut keys = more.clone();
        keys.push(match known {
            Some(id) => db::LockKey::order(id),
            None => db::LockKey::new_order(odoo_id),
        });
        let mut tx = db::write_keyed(db, &keys).await?;
        if known.is_some() {
            return Ok(tx);
        }
        known = order_id_for_odoo(&mut tx, odoo_id).await?;
        if known.is_none() {
            return Ok(tx);
        }
        tx.rollback().await?;
    }
}

async fn portal_id<'e>(
    on: impl sqlx::Executor<'e, Database = sqlx::Any>,
    odoo_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let r: Option<(i64,)> = sqlx::query_as("SELECT id FROM purchase_orders WHERE odoo_id = $1")
        .bind(odoo_id)
        .fetch_optional(on)
        .await?;
    Ok(r.map(|r| r.0))
}

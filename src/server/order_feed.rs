//! The orders that changed after a point in their history, for systems that follow them
//! (`GET /api/v1/orders`). The position is an order event's id (`order_events` is
//! append-only and records every change a supplier cares about: released, changed or
//! cancelled in Odoo, answered, decided, shipped, received); an order appears once per
//! page, at its latest change. Event ids follow commit order because every transaction
//! takes the feed lock (`db::feed`, in `record_event`) before it inserts one, and keeps it
//! to commit: a change committed later never gets a smaller id, so a cursor never skips
//! one. ('viewed' entries are written without it, and are no changes here.)

use crate::server::auth::CurrentUser;
use crate::server::db::Db;

/// One changed order: its id, number, status code, the id of its latest change and when.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Changed {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub seq: i64,
    pub changed_at: String,
}

/// Up to `limit` orders of the user's organisation whose latest change is after `after`,
/// oldest change first. Views are no changes.
pub async fn changed_since(
    db: &Db,
    user: &CurrentUser,
    after: i64,
    limit: i64,
) -> Result<Vec<Changed>, sqlx::Error> {
    let Some(supplier) = user.supplier_id else {
        return Ok(Vec::new());
    };
    sqlx::query_as(
        "SELECT o.id, o.name, o.status, c.seq, e.at AS changed_at
         FROM (SELECT e.order_id, MAX(e.id) AS seq FROM order_events e JOIN purchase_orders o ON o.id = e.order_id
               WHERE o.supplier_id = $1 AND o.visible = TRUE AND e.kind <> 'viewed'
               GROUP BY e.order_id HAVING MAX(e.id) > $2) c
         JOIN purchase_orders o ON o.id = c.order_id JOIN order_events e ON e.id = c.seq
         ORDER BY c.seq LIMIT $3",
    )
    .bind(supplier)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}

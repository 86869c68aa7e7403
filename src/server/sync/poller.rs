//! Odoo → portal: reads purchase orders changed since the cursor (and their lines, products
//! and vendor pricelists) for the suppliers linked in the portal, stores them, and marks
//! orders Odoo changed after the supplier answered. Webhooks only make it run sooner.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::cursor::Cursor;
use super::order_header;
use crate::server::db::typed::Quantity;
use crate::server::db::{self, Db};
use crate::server::odoo::client::SearchOptions;
use crate::server::odoo::fields::{
    Optional, PARTNER, PICKING, PRODUCT, PURCHASE_ORDER, PURCHASE_ORDER_LINE, SUPPLIER_INFO,
};
use crate::server::odoo::value::{decimal, many2one, text};
use crate::server::odoo::{OdooClient, OdooError};
use crate::server::{order_events, orders};

/// Orders per page. A page costs six Odoo calls whatever its size, so a first sync of
/// 10,000 orders of ten lines makes ~120 calls (bench/README.md).
pub const PAGE_SIZE: u64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Odoo(#[from] OdooError),
    #[error("portal database: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub orders_seen: usize,
    pub orders_changed_in_odoo: usize,
    pub odoo_calls: usize,
    /// Orders Odoo listed that were stored already as they are (no detail read).
    pub orders_unchanged: usize,
}

async fn load_cursor(db: &Db, model: &str) -> Result<Cursor, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT last_write_date, seen_ids FROM sync_cursors WHERE model = $1")
            .bind(model)
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some((d, ids)) => Cursor {
            last_write_date: d,
            seen_at_last: serde_json::from_str(&ids).unwrap_or_default(),
        },
        None => Cursor::start(),
    })
}

/// Saves the cursor of a poll that read the orders of `partners` (sorted), unless a supplier
/// was linked since the poll began: linking resets the cursor so that the new supplier's
/// orders are read from the start, and a poll still running on the old list must not put
/// its cursor back. False then, and nothing is saved. Keyed on the cursor, so it waits for
/// no other writer but the conservative ones; linking is one of those ([`db::write`]), so
/// either the link comes first and the check sees it, or the save does and the link
/// deletes what it saved ([`reset_cursor`]).
async fn save_cursor(
    db: &Db,
    model: &str,
    c: &Cursor,
    partners: &[i64],
) -> Result<bool, sqlx::Error> {
    let mut tx = db::write_keyed(db, &[db::LockKey::sync_cursor(model)]).await?;
    let now: Vec<(i64,)> =
        sqlx::query_as("SELECT odoo_partner_id FROM suppliers ORDER BY odoo_partner_id")
            .fetch_all(&mut *tx)
            .await?;
    if !now.iter().map(|(p,)| *p).eq(partners.iter().copied()) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO sync_cursors (model, last_write_date, seen_ids, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model) DO UPDATE SET last_write_date = excluded.last_write_date, seen_ids = excluded.seen_ids, updated_at = excluded.updated_at",
    )
    .bind(model)
    .bind(&c.last_write_date)
    .bind(serde_json::to_string(&c.seen_at_last).unwrap_or_default())
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Forgets the order cursor so the next poll reads everything again: called in the
/// transaction that links a supplier, which must be a conservative writer ([`db::write`])
/// so that a poll's [`save_cursor`] cannot slip in between.
pub async fn reset_cursor(tx: &mut db::Tx<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sync_cursors WHERE model = $1")
        .bind(PURCHASE_ORDER)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn order_states(odoo: &OdooClient, include_rfqs: bool) -> Vec<&'static str> {
    let mut states = vec!["purchase", "cancel"];
    if odoo.version < 19 {
        states.push("done");
    }
    if include_rfqs {
        states.push("sent");
    }
    states
}

/// How a poll runs.
#[derive(Clone, Debug, Default)]
pub struct PollOptions {
    /// Also show RFQs in state `sent`.
    pub include_rfqs: bool,
    /// Where the portal is, for links in mail; None: no order mails.
    pub public_url: Option<String>,
}

/// Reads everything changed since the cursor, page by page, until Odoo has nothing newer.
/// Supplier users are mailed about released and changed orders, except while the cursor
/// starts from nothing (a first sync, or a supplier just linked: history, not news).
#[tracing::instrument(skip_all)]
pub async fn poll_once(
    db: &Db,
    odoo: &OdooClient,
    options: &PollOptions,
) -> Result<PollReport, SyncError> {
    let include_rfqs = options.include_rfqs;
    let suppliers: Vec<(i64, i64)> = sqlx::query_as("SELECT odoo_partner_id, id FROM suppliers")
        .fetch_all(db)
        .await?;
    let mut report = PollReport::default();
    if suppliers.is_empty() {
        return Ok(report);
    }
    let mut partner_ids: Vec<i64> = suppliers.iter().map(|(p, _)| *p).collect();
    partner_ids.sort_unstable();
    let supplier_of: HashMap<i64, i64> = suppliers.into_iter().collect();
    let mut cursor = load_cursor(db, PURCHASE_ORDER).await?;
    let mail_to = options
        .public_url
        .as_deref()
        .filter(|_| cursor != Cursor::start());
    let caps = odoo.caps.clone();
    // Odoo's write_date has whole seconds: a record seen at the cursor's last second may
    // have changed again within that second. Each poll therefore starts by reading that
    // second again (storing is idempotent: unchanged records change nothing); the ids
    // seen at it only keep the pages of one poll moving forward.
    cursor.seen_at_last.clear();
    loop {
        let mut domain = cursor.domain();
        domain.push(json!(["partner_id", "child_of", partner_ids]));
        domain.push(json!(["state", "in", order_states(odoo, include_rfqs)]));
        // Before the reads: a write of ours that lands after this may not be in them.
        let read_at = crate::server::db::now();
        let orders = odoo
            .search_read(
                PURCHASE_ORDER,
                Value::Array(domain),
                &caps.order_fields(),
                SearchOptions {
                    order: Some("write_date asc, id asc"),
                    limit: Some(PAGE_SIZE),
                    offset: None,
                },
            )
            .await?;
        report.odoo_calls += 1;
        if orders.is_empty() {
            break;
        }
        let all_ids: Vec<(i64, String)> = orders
            .iter()
            .filter_map(|o| {
                Some((
                    o.get("id").and_then(Value::as_i64)?,
                    text(o.get("write_date")).unwrap_or_default(),
                ))
            })
            .collect();
        // Orders stored already at this write_date need no detail reads, unless their
        // second is recent: write_date has whole seconds, so a change made later within
        // that second looks the same, and only a second well past can be trusted.
        let cancelled: HashSet<i64> = orders
            .iter()
            .filter(|o| text(o.get("state")).as_deref() == Some("cancel"))
            .filter_map(|o| o.get("id").and_then(Value::as_i64))
            .collect();
        let settled = settled_orders(db, &all_ids, &cancelled).await?;
        let orders: Vec<Map<String, Value>> = orders
            .into_iter()
            .filter(|o| {
                let id = o.get("id").and_then(Value::as_i64).unwrap_or_default();
                !settled.contains(&id)
            })
            .collect();
        if orders.is_empty() {
            report.orders_unchanged += all_ids.len();
            cursor.advance(&all_ids);
            if !save_cursor(db, PURCHASE_ORDER, &cursor, &partner_ids).await? {
                // A supplier was linked meanwhile: the next poll starts over with it.
                break;
            }
            if (all_ids.len() as u64) < PAGE_SIZE {
                break;
            }
            continue;
        }
        let order_ids: Vec<i64> = orders
            .iter()
            .filter_map(|o| o.get("id").and_then(Value::as_i64))
            .collect();
        let lines = odoo
            .search_read(
                PURCHASE_ORDER_LINE,
                json!([["order_id", "in", order_ids]]),
                &caps.line_fields(),
                SearchOptions {
                    order: Some("order_id asc, sequence asc, id asc"),
                    ..Default::default()
                },
            )
            .await?;
        report.odoo_calls += 1;
        // Which linked supplier each order belongs to (orders may name a contact person).
        let partners: HashSet<i64> = orders
            .iter()
            .filter_map(|o| many2one(o.get("partner_id")).map(|p| p.0))
            .collect();
        let partners: Vec<i64> = partners.into_iter().collect();
        let commercial: HashMap<i64, i64> = odoo
            .read(PARTNER, &partners, &["commercial_partner_id"])
            .await?
            .iter()
            .filter_map(|p| {
                Some((
                    p.get("id")?.as_i64()?,
                    many2one(p.get("commercial_partner_id"))?.0,
                ))
            })
            .collect();
        report.odoo_calls += 1;
        let products: HashSet<i64> = lines
            .iter()
            .filter_map(|l| many2one(l.get("product_id")).map(|p| p.0))
            .collect();
        let products: Vec<i64> = products.into_iter().collect();
        // Lot and serial tracking comes with Inventory (`stock`); without it nothing is tracked.
        let product_fields = caps.read_fields(PRODUCT, &["name", "uom_id"]);
        let product_rows = odoo.read(PRODUCT, &products, &product_fields).await?;
        report.odoo_calls += 1;
        let product_info: HashMap<i64, (String, String)> = product_rows
            .iter()
            .filter_map(|p| {
                Some((
                    p.get("id")?.as_i64()?,
                    (
                        text(p.get("default_code")).unwrap_or_default(),
                        text(p.get("tracking")).unwrap_or("none".into()),
                    ),
                ))
            })
            .collect();
        let infos = odoo
            .search_read(
                SUPPLIER_INFO,
                json!([
                    ["product_id", "in", products],
                    ["partner_id", "in", partner_ids]
                ]),
                &[
                    "partner_id",
                    "product_id",
                    "product_code",
                    "product_name",
                    "delay",
                ],
                SearchOptions::default(),
            )
            .await?;
        report.odoo_calls += 1;
        store_vendor_products(db, &infos).await?;
        let (headers, header_calls) = order_header::read_headers(odoo, &caps, &orders).await?;
        report.odoo_calls += header_calls;
        // Incoming receipts only (a return to the vendor is a picking of the order too);
        // none at all on an Odoo without Inventory.
        let receipts = if caps.supports(Optional::Receipts) {
            let mut fields = vec![
                "name",
                "state",
                "scheduled_date",
                "date_done",
                "purchase_id",
            ];
            if caps.supports(Optional::TrackingReference) {
                fields.push("carrier_tracking_ref");
            }
            report.odoo_calls += 1;
            odoo.search_read(
                PICKING,
                json!([
                    ["purchase_id", "in", order_ids],
                    ["picking_type_code", "=", "incoming"]
                ]),
                &fields,
                SearchOptions::default(),
            )
            .await?
        } else {
            Vec::new()
        };

        let mut lines_by_order: HashMap<i64, Vec<&Map<String, Value>>> = HashMap::new();
        for l in &lines {
            if let Some((order, _)) = many2one(l.get("order_id")) {
                lines_by_order.entry(order).or_default().push(l);
            }
        }
        for o in &orders {
            let id = o.get("id").and_then(Value::as_i64).unwrap_or_default();
            let partner = many2one(o.get("partner_id"))
                .map(|p| p.0)
                .unwrap_or_default();
            let Some(supplier_id) = commercial
                .get(&partner)
                .and_then(|c| supplier_of.get(c))
                .copied()
            else {
                continue;
            };
            let changed = store_order(
                db,
                supplier_id,
                o,
                headers.get(&id),
                lines_by_order.get(&id).map(Vec::as_slice).unwrap_or(&[]),
                &product_info,
                caps.line_uom(),
                mail_to,
                &read_at,
            )
            .await?;
            report.orders_seen += 1;
            report.orders_changed_in_odoo += changed as usize;
        }
        store_receipts(db, &receipts).await?;
        report.orders_unchanged += all_ids.len() - orders.len();
        cursor.advance(&all_ids);
        if !save_cursor(db, PURCHASE_ORDER, &cursor, &partner_ids).await? {
            // A supplier was linked meanwhile: the next poll starts over with it.
            break;
        }
        if (all_ids.len() as u64) < PAGE_SIZE {
            break;
        }
    }
    sync_received_lots(db, odoo, &mut report).await?;
    Ok(report)
}

/// How long after its `write_date` second an order is read in full again at every poll:
/// covers a change within the same second and the difference between Odoo's clock and ours.
pub const SETTLE_SECONDS: i64 = 120;

/// Of these `(odoo id, write_date)`, the orders whose second is more than
/// [`SETTLE_SECONDS`] old and that are stored already at that write_date with their header (a portal upgraded from before
/// headers reads each order once more), or were cancelled
/// before the portal ever stored them (never shown: nothing to read).
async fn settled_orders(
    db: &Db,
    seen: &[(i64, String)],
    cancelled: &HashSet<i64>,
) -> Result<HashSet<i64>, sqlx::Error> {
    if seen.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT o.odoo_id, o.odoo_write_date FROM purchase_orders o JOIN order_headers h ON h.order_id = o.id WHERE o.odoo_id IN ({})",
        db::placeholders(1, seen.len())
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
    for (id, _) in seen {
        q = q.bind(*id);
    }
    let stored: HashMap<i64, String> = q.fetch_all(db).await?.into_iter().collect();
    let settled_before = db::at(-chrono::Duration::seconds(SETTLE_SECONDS));
    Ok(seen
        .iter()
        .filter(|(id, write_date)| {
            let as_stored = match stored.get(id) {
                Some(w) => w == write_date,
                None => cancelled.contains(id),
            };
            as_stored && write_date.as_str() < settled_before.as_str()
        })
        .map(|(id, _)| *id)
        .collect())
}

/// Reads what validated receipts booked per order line and lot (two calls for up to 200
/// receipts), then notes in each order's history where that differs from the shipment
/// notices.
async fn sync_received_lots(
    db: &Db,
    odoo: &OdooClient,
    report: &mut PollReport,
) -> Result<(), SyncError> {
    let pending: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT odoo_id, order_id FROM receipts WHERE state = 'done' AND lots_synced = FALSE ORDER BY odoo_id LIMIT 200",
    )
    .fetch_all(db)
    .await?;
    if pending.is_empty() || !odoo.caps.supports(Optional::Receipts) {
        return Ok(());
    }
    let ids: Vec<i64> = pending.iter().map(|(r, _)| *r).collect();
    let moves = odoo
        .search_read(
            "stock.move",
            json!([["picking_id", "in", ids]]),
            &["purchase_line_id"],
            SearchOptions::default(),
        )
        .await?;
    report.odoo_calls += 1;
    let move_lines = odoo
        .search_read(
            "stock.move.line",
            json!([["picking_id", "in", ids]]),
            &["move_id", "picking_id", "lot_id", "lot_name", "quantity"],
            SearchOptions::default(),
        )
        .await?;
    report.odoo_calls += 1;
    let line_of_move: HashMap<i64, i64> = moves
        .iter()
        .filter_map(|m| {
            Some((
                m.get("id").and_then(Value::as_i64)?,
                many2one(m.get("purchase_line_id"))?.0,
            ))
        })
        .collect();
    // What the order lines show as received, read after the receipts were seen done: the
    // order itself may have been read a moment before the warehouse validated, and the
    // comparison below must not see a receipt done with its quantity missing.
    let mut line_ids: Vec<i64> = line_of_move.values().copied().collect();
    line_ids.sort_unstable();
    line_ids.dedup();
    let received = if line_ids.is_empty() {
        Vec::new()
    } else {
        report.odoo_calls += 1;
        odoo.read(PURCHASE_ORDER_LINE, &line_ids, &["qty_received"])
            .await?
    };
    // Keyed by the orders of the receipts and of the lines they booked (a line never
    // changes order; one not stored yet is not written here).
    let keys: Vec<db::LockKey> = pending
        .iter()
        .map(|(_, o)| *o)
        .chain(orders::orders_of_odoo_lines(db, &line_ids).await?)
        .map(db::LockKey::order)
        .collect();
    let mut tx = db::write_keyed(db, &keys).await?;
    for l in &received {
        sqlx::query("UPDATE purchase_order_lines SET qty_received = $1 WHERE odoo_id = $2")
            .bind(decimal(l.get("qty_received")).to_string())
            .bind(l.get("id").and_then(Value::as_i64).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    for ml in &move_lines {
        let (Some((move_id, _)), Some((picking, _))) =
            (many2one(ml.get("move_id")), many2one(ml.get("picking_id")))
        else {
            continue;
        };
        let Some(line) = line_of_move.get(&move_id) else {
            continue;
        };
        let lot = text(ml.get("lot_name"))
            .filter(|l| !l.is_empty())
            .or_else(|| many2one(ml.get("lot_id")).map(|l| l.1));
        let Some(lot) = lot else { continue };
        sqlx::query(
            "INSERT INTO received_lots (receipt_odoo_id, line_odoo_id, lot_name, quantity) VALUES ($1, $2, $3, $4)",
        )
        .bind(picking)
        .bind(line)
        .bind(&lot)
        .bind(decimal(ml.get("quantity")).normalize().to_string())
        .execute(&mut *tx)
        .await?;
    }
    for (receipt, _) in &pending {
        sqlx::query("UPDATE receipts SET lots_synced = TRUE WHERE odoo_id = $1")
            .bind(receipt)
            .execute(&mut *tx)
            .await?;
    }
    for order in pending.iter().map(|(_, o)| *o).collect::<HashSet<_>>() {
        orders::recompute_status(&mut tx, order).await?;
    }
    tx.commit().await?;
    let mut orders_seen = HashSet::new();
    for (_, order) in pending {
        if !orders_seen.insert(order) {
            continue;
        }
        let found = crate::server::discrepancies::find(
            db,
            &crate::server::discrepancies::Filter {
                order: Some(order),
                ..Default::default()
            },
        )
        .await?;
        if found.is_empty() {
            continue;
        }
        let detail = found
            .iter()
            .map(|d| format!("{}: {}", d.description, d.detail))
            .collect::<Vec<_>>()
            .join("; ");
        let mut tx = db::write_keyed(db, &[db::LockKey::order(order)]).await?;
        order_events::record_event(
            &mut tx,
            order,
            None,
            "discrepancy",
            &format!("received against the shipment notices: {detail}"),
            None,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn store_vendor_products(db: &Db, infos: &[Map<String, Value>]) -> Result<(), sqlx::Error> {
    for i in infos {
        let (Some((partner, _)), Some((product, _))) =
            (many2one(i.get("partner_id")), many2one(i.get("product_id")))
        else {
            continue;
        };
        sqlx::query(
            "INSERT INTO vendor_products (odoo_partner_id, product_odoo_id, vendor_code, vendor_name, lead_time_days) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (odoo_partner_id, product_odoo_id) DO UPDATE SET vendor_code = excluded.vendor_code, vendor_name = excluded.vendor_name, lead_time_days = excluded.lead_time_days",
        )
        .bind(partner)
        .bind(product)
        .bind(text(i.get("product_code")).unwrap_or_default())
        .bind(text(i.get("product_name")).unwrap_or_default())
        .bind(i.get("delay").and_then(Value::as_i64).unwrap_or(0))
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Stores the receipts of orders the portal shows (others are skipped).
async fn store_receipts(db: &Db, receipts: &[Map<String, Value>]) -> Result<(), sqlx::Error> {
    for r in receipts {
        let (Some(id), Some((order_odoo_id, _))) = (
            r.get("id").and_then(Value::as_i64),
            many2one(r.get("purchase_id")),
        ) else {
            continue;
        };
        let name = text(r.get("name")).unwrap_or_default();
        let state = text(r.get("state")).unwrap_or_default();
        let mut tx = order_events::write_for_odoo_order(db, order_odoo_id).await?;
        let Some(order_id) = order_events::order_id_for_odoo(&mut tx, order_odoo_id).await? else {
            continue;
        };
        let before: Option<(String,)> =
            sqlx::query_as("SELECT state FROM receipts WHERE odoo_id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO receipts (odoo_id, order_id, name, state, scheduled_date, date_done, carrier_tracking_ref) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (odoo_id) DO UPDATE SET name = excluded.name, state = excluded.state, scheduled_date = excluded.scheduled_date,
               date_done = excluded.date_done, carrier_tracking_ref = excluded.carrier_tracking_ref",
        )
        .bind(id)
        .bind(order_id)
        .bind(&name)
        .bind(&state)
        .bind(text(r.get("scheduled_date")))
        .bind(text(r.get("date_done")))
        .bind(text(r.get("carrier_tracking_ref")).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
        if state == "done" && before.is_some_and(|(b,)| b != "done") {
            order_events::record_event(
                &mut tx,
                order_id,
                None,
                "received",
                &format!("the warehouse received {name}"),
                None,
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// A line as stored, for spotting what Odoo changed.
#[derive(Debug, sqlx::FromRow)]
struct StoredLine {
    odoo_id: i64,
    quantity: Quantity,
    date_planned: Option<String>,
    proposed_date: Option<String>,
    proposed_quantity: Option<Quantity>,
    written_date_planned: Option<String>,
    written_quantity: Option<Quantity>,
    answer: Option<String>,
    description: String,
}

/// Stores one order and its lines; returns whether Odoo changed it after the supplier answered.
#[allow(clippy::too_many_arguments)] // the order as read, and what the page read around it
async fn store_order(
    db: &Db,
    supplier_id: i64,
    o: &Map<String, Value>,
    header: Option<&order_header::Header>,
    lines: &[&Map<String, Value>],
    products: &HashMap<i64, (String, String)>,
    line_uom_field: &str,
    mail_to: Option<&str>,
    read_at: &str,
) -> Result<bool, sqlx::Error> {
    let odoo_id = o.get("id").and_then(Value::as_i64).unwrap_or_default();
    let name = text(o.get("name")).unwrap_or_default();
    let state = text(o.get("state")).unwrap_or_default();
    let now = db::now();
    // Keyed by the order when the portal holds it (answers on other orders go on beside
    // it); a new order by its Odoo id, so its first store waits for no one else's.
    let mut tx = order_events::write_for_odoo_order(db, odoo_id).await?;
    let existing: Option<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, odoo_state, acknowledged_at FROM purchase_orders WHERE odoo_id = $1",
    )
    .bind(odoo_id)
    .fetch_optional(&mut *tx)
    .await?;
    if existing.is_none() && state == "cancel" {
        // Cancelled before the supplier ever saw it: nothing to show.
        return Ok(false);
    }
    let order_id = match &existing {
        Some((id, ..)) => {
            sqlx::query(
                "UPDATE purchase_orders SET name = $1, supplier_id = $2, odoo_state = $3, date_order = $4, date_approve = $5, currency = $6, amount_total = $7, buyer_name = $8, odoo_write_date = $9, visible = TRUE, synced_at = $10 WHERE id = $11",
            )
            .bind(&name)
            .bind(supplier_id)
            .bind(&state)
            .bind(text(o.get("date_order")))
            .bind(text(o.get("date_approve")))
            .bind(many2one(o.get("currency_id")).map(|c| c.1).unwrap_or_default())
            .bind(decimal(o.get("amount_total")).to_string())
            .bind(many2one(o.get("user_id")).map(|c| c.1).unwrap_or_default())
            .bind(text(o.get("write_date")).unwrap_or_default())
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            *id
        }
        None => {
            let r: (i64,) = sqlx::query_as(
                "INSERT INTO purchase_orders (odoo_id, name, supplier_id, odoo_state, date_order, date_approve, currency, amount_total, buyer_name, odoo_write_date, status, synced_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', $11) RETURNING id",
            )
            .bind(odoo_id)
            .bind(&name)
            .bind(supplier_id)
            .bind(&state)
            .bind(text(o.get("date_order")))
            .bind(text(o.get("date_approve")))
            .bind(many2one(o.get("currency_id")).map(|c| c.1).unwrap_or_default())
            .bind(decimal(o.get("amount_total")).to_string())
            .bind(many2one(o.get("user_id")).map(|c| c.1).unwrap_or_default())
            .bind(text(o.get("write_date")).unwrap_or_default())
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            let id = r.0;
            order_events::record_event(
                &mut tx,
                id,
                None,
                "released",
                "released to you in Odoo",
                None,
            )
            .await?;
            if let Some(url) = mail_to {
                let mail = crate::server::notify::OrderMail::Released { order: &name };
                crate::server::notify::order_mail(&mut tx, supplier_id, id, &mail, url).await?;
            }
            id
        }
    };
    // An order Odoo made for a demand signal (its origin names the signal or its rule).
    crate::server::planning::push::link_order(
        &mut tx,
        odoo_id,
        &name,
        text(o.get("origin")).as_deref(),
    )
    .await?;

    let stored: Vec<StoredLine> = sqlx::query_as(
        "SELECT odoo_id, quantity, date_planned, proposed_date, proposed_quantity, written_date_planned, written_quantity, answer, description
         FROM purchase_order_lines WHERE order_id = $1 AND removed_in_odoo = FALSE",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    let answered = existing.as_ref().is_some_and(|(_, _, ack)| ack.is_some())
        || stored.iter().any(|l| l.answer.is_some());
    let mut changes: Vec<String> = Vec::new();
    if let Some((_, old_state, _)) = &existing {
        if *old_state != state && state == "cancel" {
            changes.push("the order was cancelled".into());
        }
    }
    let mut seen_lines = Vec::new();
    let mut note_lines: Vec<order_header::NoteLine> = Vec::new();
    for l in lines {
        if let Some(kind) = l.get("display_type").and_then(Value::as_str) {
            // Section and note lines carry no goods: kept for the order document only.
            if let Some(id) = l.get("id").and_then(Value::as_i64) {
                note_lines.push((
                    id,
                    l.get("sequence").and_then(Value::as_i64).unwrap_or(10),
                    kind.to_string(),
                    text(l.get("name")).unwrap_or_default(),
                ));
            }
            continue;
        }
        let line_id = l.get("id").and_then(Value::as_i64).unwrap_or_default();
        seen_lines.push(line_id);
        let quantity = decimal(l.get("product_qty"));
        let date_planned = text(l.get("date_planned"));
        let product = many2one(l.get("product_id"));
        let (code, tracking) = product
            .as_ref()
            .and_then(|(id, _)| products.get(id).cloned())
            .unwrap_or_default();
        let description = text(l.get("name")).unwrap_or_default();
        let uom = many2one(l.get(line_uom_field))
            .map(|u| u.1)
            .unwrap_or_default();
        match stored.iter().find(|s| s.odoo_id == line_id) {
            Some(s) => {
                let old_q = s.quantity.get();
                // The supplier's own proposal, or anything the portal wrote, arriving in
                // Odoo is not a change by the buyer.
                let ours_q = s.proposed_quantity.map(Quantity::get) == Some(quantity)
                    || s.written_quantity.map(Quantity::get) == Some(quantity);
                if old_q != quantity && !ours_q {
                    changes.push(format!(
                        "{}: quantity {} → {}",
                        short(&s.description),
                        old_q.normalize(),
                        quantity.normalize()
                    ));
                }
                let ours = date_planned.is_some()
                    && (s.proposed_date == date_planned || s.written_date_planned == date_planned);
                if s.date_planned != date_planned && !ours {
                    changes.push(format!(
                        "{}: date {} → {}",
                        short(&s.description),
                        s.date_planned.as_deref().map(day).unwrap_or("none"),
                        date_planned.as_deref().map(day).unwrap_or("none")
                    ));
                }
                sqlx::query(
                    "UPDATE purchase_order_lines SET sequence = $1, product_odoo_id = $2, product_code = $3, tracking = $4, description = $5, quantity = $6, uom = $7, price_unit = $8, date_planned = $9, qty_received = $10 WHERE odoo_id = $11",
                )
                .bind(l.get("sequence").and_then(Value::as_i64).unwrap_or(10))
                .bind(product.as_ref().map(|p| p.0))
                .bind(&code)
                .bind(&tracking)
                .bind(&description)
                .bind(quantity.to_string())
                .bind(&uom)
                .bind(decimal(l.get("price_unit")).to_string())
                .bind(&date_planned)
                .bind(decimal(l.get("qty_received")).to_string())
                .bind(line_id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                if existing.is_some() {
                    changes.push(format!("line added: {}", short(&description)));
                }
                sqlx::query(
                    "INSERT INTO purchase_order_lines (odoo_id, order_id, sequence, product_odoo_id, product_code, tracking, description, quantity, uom, price_unit, date_planned, qty_received)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (odoo_id) DO UPDATE SET order_id = excluded.order_id, removed_in_odoo = FALSE",
                )
                .bind(line_id)
                .bind(order_id)
                .bind(l.get("sequence").and_then(Value::as_i64).unwrap_or(10))
                .bind(product.as_ref().map(|p| p.0))
                .bind(&code)
                .bind(&tracking)
                .bind(&description)
                .bind(quantity.to_string())
                .bind(&uom)
                .bind(decimal(l.get("price_unit")).to_string())
                .bind(&date_planned)
                .bind(decimal(l.get("qty_received")).to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    for s in &stored {
        if !seen_lines.contains(&s.odoo_id) {
            changes.push(format!("line removed: {}", short(&s.description)));
            sqlx::query(
                "UPDATE purchase_order_lines SET removed_in_odoo = TRUE WHERE odoo_id = $1",
            )
            .bind(s.odoo_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    order_header::store_note_lines(&mut tx, order_id, &note_lines).await?;
    if let Some(header) = header {
        let header_changes = order_header::store(&mut tx, order_id, header, read_at).await?;
        if !header_changes.is_empty() {
            order_events::record_event(
                &mut tx,
                order_id,
                None,
                "updated_in_odoo",
                &header_changes.join("; "),
                None,
            )
            .await?;
        }
    }
    let changed_after_answer = answered && !changes.is_empty();
    if let (Some(url), false, true) = (mail_to, changes.is_empty(), existing.is_some()) {
        let summary = changes.join("; ");
        let mail = crate::server::notify::OrderMail::Changed {
            order: &name,
            changes: &summary,
        };
        crate::server::notify::order_mail(&mut tx, supplier_id, order_id, &mail, url).await?;
    }
    if changed_after_answer {
        let summary = changes.join("; ");
        sqlx::query("UPDATE purchase_orders SET odoo_change_summary = $1 WHERE id = $2")
            .bind(&summary)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        order_events::record_event(&mut tx, order_id, None, "changed_in_odoo", &summary, None)
            .await?;
    } else if !changes.is_empty() && existing.is_some() {
        order_events::record_event(
            &mut tx,
            order_id,
            None,
            "updated_in_odoo",
            &changes.join("; "),
            None,
        )
        .await?;
    }
    orders::recompute_status(&mut tx, order_id).await?;
    tx.commit().await?;
    Ok(changed_after_answer)
}

fn short(s: &str) -> &str {
    let end = s.char_indices().nth(40).map(|(i, _)| i).unwrap_or(s.len());
    &s[..end]
}

fn day(s: &str) -> &str {
    s.get(..10).unwrap_or(s)
}

/// Finds orders the portal shows that Odoo no longer shows to the supplier (deleted,
/// moved to another vendor, back to draft) and hides them, with an event.
pub async fn reconcile(db: &Db, odoo: &OdooClient, include_rfqs: bool) -> Result<usize, SyncError> {
    let partner_ids: Vec<(i64,)> = sqlx::query_as("SELECT odoo_partner_id FROM suppliers")
        .fetch_all(db)
        .await?;
    if partner_ids.is_empty() {
        return Ok(0);
    }
    let partner_ids: Vec<i64> = partner_ids.into_iter().map(|p| p.0).collect();
    let visible: HashSet<i64> = odoo
        .search(
            PURCHASE_ORDER,
            json!([
                ["partner_id", "child_of", partner_ids],
                ["state", "in", order_states(odoo, include_rfqs)]
            ]),
            SearchOptions::default(),
        )
        .await?
        .into_iter()
        .collect();
    let stored: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, odoo_id FROM purchase_orders WHERE visible = TRUE")
            .fetch_all(db)
            .await?;
    let mut hidden = 0;
    for (id, odoo_id) in stored {
        if !visible.contains(&odoo_id) {
            let mut tx = db::write_keyed(db, &[db::LockKey::order(id)]).await?;
            sqlx::query("UPDATE purchase_orders SET visible = FALSE, odoo_change_summary = 'no longer released to you in Odoo' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            order_events::record_event(
                &mut tx,
                id,
                None,
                "withdrawn_in_odoo",
                "no longer released to you in Odoo",
                None,
            )
            .await?;
            tx.commit().await?;
            hidden += 1;
        }
    }
    Ok(hidden)
}

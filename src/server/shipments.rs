//! Advance shipment notices: the supplier's open lines, submitting a notice (checked in full
//! before anything is stored, then stored with its outbox messages in one transaction),
//! listing and cancelling. Every query is scoped to the user's supplier.

use std::collections::{BTreeMap, HashMap};

use crate::server::db::Tx;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::order::OrderStatus;
use crate::domain::outcome::Outcome;
use crate::domain::shipment::{check_tracking, ShippedQuantity, Tracking};
use crate::domain::tolerance::SupplierOverrides;
use crate::model::shipments::{
    DocumentView, OpenLine, ShipmentInput, ShipmentLineView, ShipmentSummary,
};
use crate::server::auth::CurrentUser;
use crate::server::db::typed::{Code, Quantity};
use crate::server::db::{self, Db};
use crate::server::idempotency::Submission;
use crate::server::order_events::record_event;
use crate::server::orders::{self, ActionError};
use crate::server::sync::outbox::{self, OutboxAction, PrefillLine};

/// A line of one of the supplier's orders that may still be shipped, with its order.
#[derive(sqlx::FromRow)]
struct ShippableLine {
    id: i64,
    order_id: i64,
    order_name: String,
    description: String,
    product_code: String,
    tracking: String,
    quantity: Quantity,
    qty_received: Quantity,
    uom: String,
    date_planned: Option<String>,
    status: Code<OrderStatus>,
}

/// Lines of the supplier's orders that may still be shipped.
pub async fn open_lines(
    db: &Db,
    user: &CurrentUser,
    order_ids: &[i64],
) -> Result<Vec<OpenLine>, sqlx::Error> {
    let Some(supplier) = user.supplier_id else {
        return Ok(Vec::new());
    };
    // A notice covers a handful of orders; more ids than that are not a real request.
    let order_ids = &order_ids[..order_ids.len().min(100)];
    let order_in = if order_ids.is_empty() {
        "TRUE".to_string()
    } else {
        format!("o.id IN ({})", db::placeholders(2, order_ids.len()))
    };
    let sql = format!(
        "SELECT l.id, o.id AS order_id, o.name AS order_name, l.description, l.product_code, l.tracking, l.quantity, l.qty_received,
                l.uom, l.date_planned, o.status
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
         WHERE o.supplier_id = $1 AND o.visible = TRUE AND l.removed_in_odoo = FALSE AND o.odoo_state = 'purchase'
           AND {order_in}
         ORDER BY o.date_order DESC, o.id DESC, l.sequence, l.id"
    );
    let mut query = sqlx::query_as::<_, ShippableLine>(&sql).bind(supplier);
    for id in order_ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(db).await?;
    let shipped = shipped_for_supplier(db, supplier).await?;
    let mut open_lines = Vec::new();
    for ShippableLine {
        id,
        order_id,
        order_name,
        description,
        product_code,
        tracking,
        quantity,
        qty_received,
        uom,
        date_planned,
        status: Code(status),
    } in rows
    {
        if matches!(status, OrderStatus::Cancelled | OrderStatus::Received) {
            continue;
        }
        let open = open_quantity(
            quantity,
            qty_received,
            shipped.get(&id).copied().unwrap_or_default(),
        );
        if open > Decimal::ZERO {
            open_lines.push(OpenLine {
                line_id: id,
                order_id,
                order_name,
                description,
                product_code,
                tracking,
                open_quantity: open.normalize().to_string(),
                uom,
                date_planned,
            });
        }
    }
    Ok(open_lines)
}

/// What is still open on a line: ordered, less received, less announced. The stored
/// quantities are read as [`Quantity`]: one that does not parse fails the read, never
/// becomes a zero (a zero received would let a notice announce what was delivered).
fn open_quantity(ordered: Quantity, received: Quantity, shipped: Decimal) -> Decimal {
    (ordered.get() - received.get() - shipped).max(Decimal::ZERO)
}

async fn shipped_for_supplier(
    db: &Db,
    supplier: i64,
) -> Result<HashMap<i64, Decimal>, sqlx::Error> {
    let rows: Vec<(i64, Quantity)> = sqlx::query_as(
        "SELECT sl.line_id, sl.quantity FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
         WHERE n.supplier_id = $1 AND n.status <> 'cancelled'",
    )
    .bind(supplier)
    .fetch_all(db)
    .await?;
    let mut m = HashMap::new();
    for (l, q) in rows {
        *m.entry(l).or_insert(Decimal::ZERO) += q.get();
    }
    Ok(m)
}

fn parse_day(value: &str, field: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{field}: enter a date (YYYY-MM-DD)."))
}

/// The lot or serial numbers typed for a line: one per line of text, or comma-separated.
fn split_numbers(text: &str) -> Vec<String> {
    text.split(['\n', ',', ';'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A line a notice announces, with its order, as [`submit`] checks it.
#[derive(sqlx::FromRow)]
struct AnnouncedLine {
    line_id: i64,
    line_odoo_id: i64,
    order_id: i64,
    order_name: String,
    description: String,
    tracking: String,
    quantity: Quantity,
    qty_received: Quantity,
    status: Code<OrderStatus>,
}

/// Checks everything, then stores the notice, its lines, the orders' events and one outbox
/// message per order, in one transaction. Returns the notice number.
pub async fn submit(
    db: &Db,
    user: &CurrentUser,
    input: &ShipmentInput,
    default_over_delivery: Decimal,
    key: Option<&str>,
) -> Result<String, ActionError> {
    let Some(supplier) = user.supplier_id else {
        return Err(ActionError::Invalid(
            "Only a supplier announces shipments.".into(),
        ));
    };
    let mut problems = Vec::new();
    let ship_date = parse_day(&input.ship_date, "Ship date")
        .map_err(|e| problems.push(e))
        .ok();
    let arrival = parse_day(&input.expected_arrival, "Expected arrival")
        .map_err(|e| problems.push(e))
        .ok();
    if let (Some(s), Some(a)) = (ship_date, arrival) {
        if a < s {
            problems.push("Expected arrival: it cannot be before the ship date.".into());
        }
    }
    let carrier = input.carrier.trim();
    if carrier.is_empty() {
        problems.push("Carrier: say who carries the goods.".into());
    }
    let tracking_number = input.tracking_number.trim();
    if tracking_number.is_empty() {
        problems.push("Tracking number: enter the carrier's tracking number.".into());
    }
    let packages = match input.package_count.trim().parse::<i64>() {
        Ok(n) if (1..=10_000).contains(&n) => n,
        _ => {
            problems.push("Packages: enter a whole number of packages, at least 1.".into());
            0
        }
    };
    let wanted: Vec<_> = input
        .lines
        .iter()
        .filter(|l| !l.quantity.trim().is_empty())
        .collect();
    if wanted.is_empty() {
        problems.push("Lines: enter a shipped quantity on at least one line.".into());
    }
    // One entry per order line: two entries would each be checked against the whole open
    // quantity, and announce it twice.
    let mut seen = std::collections::BTreeSet::new();
    let mut listed_twice = std::collections::BTreeSet::new();
    for l in &wanted {
        if !seen.insert(l.line_id) {
            listed_twice.insert(l.line_id);
        }
    }
    if !listed_twice.is_empty() {
        return Err(ActionError::Invalid(format!(
            "Lines: {} listed more than once. Give each line's quantity once, with all its lots or serial numbers on that entry.",
            if listed_twice.len() == 1 { "a line is" } else { "some lines are" }
        )));
    }

    let submission = Submission::new(user.id, key, "submit_shipment", input)?;
    // The orders the lines belong to (a line never changes order) are the notice's keys.
    let line_ids: Vec<i64> = wanted.iter().map(|l| l.line_id).collect();
    let locked = orders::orders_of_lines(db, &line_ids).await?;
    let keys = locked.iter().map(|&o| db::LockKey::order(o)).collect();
    let mut tx = db::write_keyed(db, &submission.lock_keys(keys)).await?;
    // The same form sent twice (a double click, a retry) announces one shipment.
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let (over,): (Option<String>,) =
        sqlx::query_as("SELECT over_delivery_percent FROM suppliers WHERE id = $1")
            .bind(supplier)
            .fetch_one(&mut *tx)
            .await?;
    let over = SupplierOverrides {
        over_delivery_percent: db::opt_decimal(over)?,
        ..Default::default()
    }
    .over_delivery_percent(default_over_delivery);
    let mut checked = Vec::new();
    for l in &wanted {
        let row: Option<AnnouncedLine> = sqlx::query_as(
            "SELECT l.id AS line_id, l.odoo_id AS line_odoo_id, o.id AS order_id, o.name AS order_name, l.description, l.tracking,
                    l.quantity, l.qty_received, o.status
             FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
             WHERE l.id = $1 AND o.supplier_id = $2 AND o.visible = TRUE AND l.removed_in_odoo = FALSE AND o.odoo_state = 'purchase'",
        )
        .bind(l.line_id)
        .bind(supplier)
        .fetch_optional(&mut *tx)
        .await?;
        // Another supplier's line, or one that does not exist: the same answer.
        let Some(AnnouncedLine {
            line_id,
            line_odoo_id,
            order_id,
            order_name,
            description,
            tracking,
            quantity: q,
            qty_received: r,
            status: Code(status),
        }) = row
        else {
            return Err(ActionError::NotFound);
        };
        if !locked.contains(&order_id) {
            return Err(ActionError::NotFound);
        }
        let label = format!("Line “{description}” on {order_name}");
        if matches!(status, OrderStatus::Cancelled | OrderStatus::Received) {
            problems.push(format!(
                "{label}: the order is {}; nothing more can be shipped.",
                status.code().replace('_', " ")
            ));
            continue;
        }
        let shipped = orders::shipped_by_line(&mut tx, order_id)
            .await?
            .get(&line_id)
            .copied()
            .unwrap_or_default();
        let open = open_quantity(q, r, shipped);
        let value = match l.quantity.trim().parse::<Decimal>() {
            Ok(v) => v,
            Err(_) => {
                problems.push(format!(
                    "{label}: “{}” is not a quantity.",
                    l.quantity.trim()
                ));
                continue;
            }
        };
        let quantity = match ShippedQuantity::parse(value, open, over) {
            Ok(q) => q,
            Err(e) => {
                problems.push(format!("{label}: {e}."));
                continue;
            }
        };
        match check_tracking(
            Tracking::from_odoo(&tracking),
            quantity,
            &split_numbers(&l.lots),
        ) {
            Ok(numbers) => checked.push((line_id, line_odoo_id, order_id, quantity, numbers)),
            Err(e) => problems.push(format!("{label}: {e}.")),
        }
    }
    let mut notice_orders: Vec<i64> = checked.iter().map(|c| c.2).collect();
    notice_orders.dedup();
    if let Some(p) =
        crate::server::order_document::one_destination_problem(&mut tx, supplier, &notice_orders)
            .await?
    {
        problems.push(p);
    }
    if !problems.is_empty() {
        return Err(ActionError::Invalid(format!(
            "Nothing was sent. Please fix: {}",
            problems.join(" ")
        )));
    }
    let (ship_date, arrival) = (ship_date.expect("checked"), arrival.expect("checked"));

    let now = db::now();
    let correlation_id = outbox::new_correlation_id();
    let r: (i64,) = sqlx::query_as(
        "INSERT INTO shipment_notices (number, supplier_id, status, ship_date, expected_arrival, carrier, tracking_number, package_count, created_by, created_at, correlation_id)
         VALUES ('', $1, 'submitted', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(supplier)
    .bind(ship_date.to_string())
    .bind(arrival.to_string())
    .bind(carrier)
    .bind(tracking_number)
    .bind(packages)
    .bind(user.id)
    .bind(&now)
    .bind(&correlation_id)
    .fetch_one(&mut *tx)
    .await?;
    let notice_id = r.0;
    let number = format!("ASN-{notice_id:06}");
    sqlx::query("UPDATE shipment_notices SET number = $1 WHERE id = $2")
        .bind(&number)
        .bind(notice_id)
        .execute(&mut *tx)
        .await?;
    let mut orders_touched: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (line_id, _, order_id, quantity, numbers) in &checked {
        sqlx::query("INSERT INTO shipment_notice_lines (notice_id, line_id, quantity, lot_numbers) VALUES ($1, $2, $3, $4)")
            .bind(notice_id)
            .bind(line_id)
            .bind(quantity.value().normalize().to_string())
            .bind(serde_json::to_string(numbers).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
        orders_touched
            .entry(*order_id)
            .or_default()
            .push(quantity.value().normalize().to_string());
    }
    for order_id in orders_touched.keys() {
        let detail = format!("announced shipment {number}: ships {ship_date}, arrives {arrival}, {carrier} {tracking_number}, {packages} package(s)");
        refresh_order(
            &mut tx,
            *order_id,
            user,
            &format!("announced {number}"),
            "shipment_announced",
            &detail,
        )
        .await?;
    }
    submission.record(&mut tx, &number).await?;
    tx.commit().await?;
    tracing::info!(asn = %number, supplier, lines = checked.len(), "shipment announced");
    Ok(number)
}

/// After a notice changed: queue the order's prefill, record the event, recompute its status.
async fn refresh_order(
    tx: &mut Tx<'_>,
    order_id: i64,
    user: &CurrentUser,
    what: &str,
    event_kind: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let message_id = outbox::new_correlation_id();
    enqueue_prefill(
        tx,
        order_id,
        &message_id,
        &format!("{} <{}> {what}", user.display_name, user.email),
    )
    .await?;
    record_event(
        tx,
        order_id,
        Some(user.id),
        event_kind,
        detail,
        Some(&message_id),
    )
    .await?;
    orders::recompute_status(tx, order_id).await?;
    Ok(())
}

/// Queues the receipt prefill for one order: what all its notices not cancelled announce,
/// so the last delivery leaves Odoo's receipt matching the portal.
async fn enqueue_prefill(
    tx: &mut Tx<'_>,
    order_id: i64,
    correlation_id: &str,
    note: &str,
) -> Result<(), sqlx::Error> {
    let (order_odoo_id,): (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
    let rows: Vec<(i64, Quantity, String, String, String, String, String)> = sqlx::query_as(
        "SELECT l.odoo_id, sl.quantity, sl.lot_numbers, n.number, n.expected_arrival, n.carrier, n.tracking_number
         FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id JOIN purchase_order_lines l ON l.id = sl.line_id
         WHERE l.order_id = $1 AND n.status <> 'cancelled' ORDER BY n.id, sl.id",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let all_lines: Vec<(i64,)> = sqlx::query_as(
        "SELECT odoo_id FROM purchase_order_lines WHERE order_id = $1 AND removed_in_odoo = FALSE",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut lines: BTreeMap<i64, PrefillLine> = all_lines
        .into_iter()
        .map(|(id,)| {
            (
                id,
                PrefillLine {
                    line_odoo_id: id,
                    quantity: Decimal::ZERO,
                    lot_names: Vec::new(),
                },
            )
        })
        .collect();
    let (mut arrival, mut tracking, mut numbers) = (None, Vec::new(), Vec::new());
    for (line, q, lots, number, expected, carrier, tracking_number) in rows {
        let entry = lines.entry(line).or_insert(PrefillLine {
            line_odoo_id: line,
            quantity: Decimal::ZERO,
            lot_names: Vec::new(),
        });
        entry.quantity = (entry.quantity + q.get()).normalize();
        entry.lot_names.extend(db::text_list(&lots)?);
        arrival = Some(expected);
        let t = format!("{carrier} {tracking_number}");
        if !tracking.contains(&t) {
            tracking.push(t);
        }
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    let action = OutboxAction::AsnPrefill {
        order_odoo_id,
        notices: numbers,
        expected_arrival: arrival.map(|a| format!("{a} 12:00:00")),
        tracking_ref: tracking.join(", "),
        lines: lines.into_values().collect(),
        note: note.to_string(),
    };
    outbox::enqueue(tx, correlation_id, &action).await?;
    Ok(())
}

/// A shipment notice as the list of notices shows it.
#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    number: String,
    status: String,
    ship_date: String,
    expected_arrival: String,
    carrier: String,
    tracking_number: String,
    package_count: i64,
    created_at: String,
}

pub async fn list(db: &Db, user: &CurrentUser) -> Result<Vec<ShipmentSummary>, sqlx::Error> {
    let notices: Vec<NoticeRow> = sqlx::query_as(&format!(
        "SELECT n.id, n.number, n.status, n.ship_date, n.expected_arrival, n.carrier, n.tracking_number, n.package_count, n.created_at
         FROM shipment_notices n WHERE ($1 IS NULL OR n.supplier_id = $1){} ORDER BY n.id DESC LIMIT 200",
        user.companies.notice_condition("n.id")
    ))
    .bind(user.supplier_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for NoticeRow {
        id,
        number,
        status,
        ship_date,
        expected_arrival,
        carrier,
        tracking_number,
        package_count,
        created_at,
    } in notices
    {
        let lines: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT o.id, o.name, l.description, sl.quantity, l.uom, sl.lot_numbers FROM shipment_notice_lines sl
             JOIN purchase_order_lines l ON l.id = sl.line_id JOIN purchase_orders o ON o.id = l.order_id WHERE sl.notice_id = $1 ORDER BY sl.id",
        )
        .bind(id)
        .fetch_all(db)
        .await?;
        let documents: Vec<(i64, String, i64)> = sqlx::query_as("SELECT id, file_name, size_bytes FROM shipment_documents WHERE notice_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(db)
            .await?;
        out.push(ShipmentSummary {
            id,
            number,
            status,
            ship_date,
            expected_arrival,
            carrier,
            tracking_number,
            package_count,
            created_at,
            documents: documents
                .into_iter()
                .map(|(id, file_name, size_bytes)| DocumentView {
                    id,
                    file_name,
                    size_bytes,
                })
                .collect(),
            lines: lines
                .into_iter()
                .map(|(order_id, order_name, description, quantity, uom, lots)| {
                    Ok(ShipmentLineView {
                        order_id,
                        order_name,
                        description,
                        quantity,
                        uom,
                        lot_numbers: db::text_list(&lots)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?,
        });
    }
    Ok(out)
}

/// Cancels a notice that has not been received; Odoo's receipt is prefilled again without it.
/// A notice cancelled already stays as it is and the answer says so.
pub async fn cancel(
    db: &Db,
    user: &CurrentUser,
    notice_id: i64,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    let Some(supplier) = user.supplier_id else {
        return Err(ActionError::Invalid(
            "Only the supplier cancels its shipment notices.".into(),
        ));
    };
    let submission = Submission::new(user.id, key, "cancel_shipment", &notice_id)?;
    let keys = notice_keys(db, notice_id).await?;
    let mut tx = db::write_keyed(db, &submission.lock_keys(keys.clone())).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT number, status FROM shipment_notices WHERE id = $1 AND supplier_id = $2",
    )
    .bind(notice_id)
    .bind(supplier)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((number, status)) = row else {
        return Err(ActionError::NotFound);
    };
    if status == "cancelled" {
        return Ok(Outcome::already(format!("{number} is cancelled already.")));
    }
    if status != "submitted" {
        return Err(ActionError::Invalid(format!(
            "{number} is {status}; only a submitted notice can be cancelled."
        )));
    }
    let orders_of = orders_of_notice(&mut tx, notice_id).await?;
    if orders_of
        .iter()
        .any(|o| !keys.contains(&db::LockKey::order(o.id)))
    {
        return Err(ActionError::NotFound);
    }
    if orders_of
        .iter()
        .all(|o| o.status == OrderStatus::Received.code())
    {
        return Err(ActionError::Invalid(format!(
            "{number} has been received already."
        )));
    }
    sqlx::query(
        "UPDATE shipment_notices SET status = 'cancelled', cancelled_at = $1 WHERE id = $2",
    )
    .bind(db::now())
    .bind(notice_id)
    .execute(&mut *tx)
    .await?;
    for NoticeOrder { id: order_id, .. } in &orders_of {
        refresh_order(
            &mut tx,
            *order_id,
            user,
            &format!("cancelled {number}"),
            "shipment_cancelled",
            &format!("cancelled shipment {number}"),
        )
        .await?;
    }
    let outcome = Outcome::done(format!("{number} cancelled."));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// An order one of whose lines is on a notice.
#[derive(sqlx::FromRow)]
pub struct NoticeOrder {
    pub id: i64,
    pub odoo_id: i64,
    pub status: String,
}

/// The lock keys of a notice: its orders (read before the transaction: a notice's lines
/// never change, nor a line's order). Whoever decides on the notice (cancelling it,
/// attaching a document to it) takes them, as submitting it did.
pub async fn notice_keys(db: &Db, notice_id: i64) -> Result<Vec<db::LockKey>, sqlx::Error> {
    let orders: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT l.order_id FROM shipment_notice_lines sl JOIN purchase_order_lines l ON l.id = sl.line_id WHERE sl.notice_id = $1",
    )
    .bind(notice_id)
    .fetch_all(db)
    .await?;
    Ok(orders
        .into_iter()
        .map(|(o,)| db::LockKey::order(o))
        .collect())
}

pub async fn orders_of_notice(
    tx: &mut Tx<'_>,
    notice_id: i64,
) -> Result<Vec<NoticeOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT o.id, o.odoo_id, o.status FROM shipment_notice_lines sl JOIN purchase_order_lines l ON l.id = sl.line_id
         JOIN purchase_orders o ON o.id = l.order_id WHERE sl.notice_id = $1",
    )
    .bind(notice_id)
    .fetch_all(&mut **tx)
    .await
}

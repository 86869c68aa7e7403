//! ASN against receipt: per order line, what notices announced (quantities, lots) against
//! what Odoo's validated receipts booked, judged by `domain::discrepancy`.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::domain::discrepancy::{line_discrepancy, Discrepancy};
use crate::model::exceptions::ReceiptDiscrepancy;
use crate::server::db::typed::Quantity;
use crate::server::db::{self, arg, bind_args, Arg, Db};
use crate::server::exceptions::Sink;

/// Which lines to look at.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub supplier: Option<i64>,
    pub buyer: Option<String>,
    pub order: Option<i64>,
    /// The viewer's companies (`server::companies`).
    pub companies: crate::server::companies::CompanyScope,
}

/// The discrepancies of settled orders (a validated receipt, none open, what they booked
/// read), newest first.
pub async fn find(db: &Db, filter: &Filter) -> Result<Vec<ReceiptDiscrepancy>, sqlx::Error> {
    let (scope, args) = clauses(filter);
    find_where(db, &scope, &args).await
}

/// Orders [`each`] reads the discrepancies of at a time.
const ORDERS_AT_ONCE: usize = 200;

/// What [`find`] answers, handed to `out` a few orders at a time (the newest first), so
/// that however many there are, only those of [`ORDERS_AT_ONCE`] orders are held.
pub(crate) async fn each(
    db: &Db,
    filter: &Filter,
    out: &mut impl Sink<ReceiptDiscrepancy>,
) -> Result<(), sqlx::Error> {
    let (scope, args) = clauses(filter);
    let mut before = i64::MAX;
    loop {
        // The next orders that may have some (ids we stored, written into the SQL as numbers).
        let orders: Vec<(i64,)> = bind_args(
            sqlx::query_as(&format!(
                "SELECT DISTINCT o.id FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
                 WHERE {scope} AND o.id < {before} ORDER BY o.id DESC LIMIT {ORDERS_AT_ONCE}"
            )),
            &args,
        )
        .fetch_all(db)
        .await?;
        let Some(&(last,)) = orders.last() else {
            return Ok(());
        };
        let ids = orders
            .iter()
            .map(|(id,)| id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        for found in find_where(db, &format!("{scope} AND o.id IN ({ids})"), &args).await? {
            if !out.take(found).await {
                return Ok(());
            }
        }
        if orders.len() < ORDERS_AT_ONCE {
            return Ok(());
        }
        before = last;
    }
}

/// The SQL condition `filter` makes (on `l`, the line, and `o`, its order) and its arguments.
fn clauses(filter: &Filter) -> (String, Vec<Arg>) {
    // Only the filters in force go into the SQL (an order's page must not scan them all);
    // `l` and `o` are the line and its order in every query of `find_where` and `each`.
    let mut clauses = vec![
        "l.removed_in_odoo = FALSE AND o.visible = TRUE".to_string(),
        "o.id IN (SELECT r.order_id FROM receipts r WHERE r.state = 'done')".to_string(),
        "o.id NOT IN (SELECT r.order_id FROM receipts r WHERE r.state NOT IN ('done', 'cancel'))"
            .to_string(),
        // ... and what those receipts booked has been read (lots and received quantities
        // are read after a receipt is seen done, not with the order).
        "o.id NOT IN (SELECT r.order_id FROM receipts r WHERE r.state = 'done' AND r.lots_synced = FALSE)"
            .to_string(),
    ];
    let mut args = Vec::new();
    if let Some(order) = filter.order {
        clauses.push(format!("o.id = {}", arg(&mut args, Arg::Int(order))));
    }
    if let Some(supplier) = filter.supplier {
        clauses.push(format!(
            "o.supplier_id = {}",
            arg(&mut args, Arg::Int(supplier))
        ));
    }
    if let Some(b) = &filter.buyer {
        clauses.push(format!(
            "o.buyer_name = {}",
            arg(&mut args, Arg::Text(b.clone()))
        ));
    }
    clauses.extend(filter.companies.predicate("o.id"));
    (clauses.join(" AND "), args)
}

/// An order line whose receipt is checked: its order, supplier and what was received.
#[derive(sqlx::FromRow)]
struct ReceivedLine {
    line_id: i64,
    line_odoo_id: i64,
    order_id: i64,
    order_name: String,
    supplier_name: String,
    description: String,
    qty_received: Quantity,
}

/// The discrepancies of the lines `scope` (with `args`) keeps, newest order first.
async fn find_where(
    db: &Db,
    scope: &str,
    args: &[Arg],
) -> Result<Vec<ReceiptDiscrepancy>, sqlx::Error> {
    let lines_sql = format!(
        "SELECT l.id AS line_id, l.odoo_id AS line_odoo_id, o.id AS order_id, o.name AS order_name, s.name AS supplier_name,
                l.description, l.qty_received
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
         JOIN suppliers s ON s.id = o.supplier_id
         WHERE {scope} ORDER BY o.id DESC, l.sequence, l.id"
    );
    let lines: Vec<ReceivedLine> = bind_args(sqlx::query_as(&lines_sql), args)
        .fetch_all(db)
        .await?;
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let notices_sql = format!(
        "SELECT nl.line_id, nl.quantity, nl.lot_numbers FROM shipment_notice_lines nl
         JOIN shipment_notices n ON n.id = nl.notice_id
         JOIN purchase_order_lines l ON l.id = nl.line_id JOIN purchase_orders o ON o.id = l.order_id
         WHERE n.status <> 'cancelled' AND {scope}"
    );
    let notices: Vec<(i64, Quantity, String)> = bind_args(sqlx::query_as(&notices_sql), args)
        .fetch_all(db)
        .await?;
    let mut announced: HashMap<i64, (Decimal, Vec<String>)> = HashMap::new();
    for (line, quantity, lots) in notices {
        let entry = announced.entry(line).or_default();
        entry.0 += quantity.get();
        entry.1.extend(db::text_list(&lots)?);
    }
    let booked_sql = format!(
        "SELECT rl.line_odoo_id, rl.lot_name FROM received_lots rl
         JOIN purchase_order_lines l ON l.odoo_id = rl.line_odoo_id JOIN purchase_orders o ON o.id = l.order_id
         WHERE {scope}"
    );
    let booked: Vec<(i64, String)> = bind_args(sqlx::query_as(&booked_sql), args)
        .fetch_all(db)
        .await?;
    let mut received_lots: HashMap<i64, Vec<String>> = HashMap::new();
    for (line, lot) in booked {
        received_lots.entry(line).or_default().push(lot);
    }
    Ok(lines
        .into_iter()
        .filter_map(|line| {
            let (quantity, lots) = announced
                .get(&line.line_id)
                .map(|(q, l)| (Some(*q), l.as_slice()))
                .unwrap_or((None, &[]));
            let found: Discrepancy = line_discrepancy(
                quantity,
                line.qty_received.get(),
                lots,
                received_lots
                    .get(&line.line_odoo_id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                true,
            )?;
            Some(ReceiptDiscrepancy {
                order_id: line.order_id,
                order_name: line.order_name,
                supplier_name: line.supplier_name,
                line_id: line.line_id,
                description: line.description,
                kind: found.code().to_string(),
                detail: found.describe(),
            })
        })
        .collect())
}

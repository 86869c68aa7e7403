//! Loads what `domain::performance` scores: released orders of a period with their lines,
//! receipts and shipment notices.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::order::LineAnswerState;
use crate::domain::performance::{LineFacts, OrderFacts};
use crate::server::db::typed::{Code, Quantity, UtcTime};
use crate::server::db::{self, arg, bind_args, Arg, Db};

/// A supplier organisation's released orders of the period, by supplier: (id, name, orders),
/// of the viewer's companies.
pub async fn facts(
    db: &Db,
    supplier: Option<i64>,
    companies: &crate::server::companies::CompanyScope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i64, String, Vec<OrderFacts>)>, sqlx::Error> {
    // The orders in scope (`o`), in each query below: released in the period, of the
    // supplier when one is asked for.
    let mut args = Vec::new();
    let mut scope = format!(
        "o.visible = TRUE AND COALESCE(o.date_approve, o.date_order) >= {} AND COALESCE(o.date_approve, o.date_order) <= {}",
        arg(&mut args, Arg::Text(format!("{from} 00:00:00"))),
        arg(&mut args, Arg::Text(format!("{to} 23:59:59")))
    );
    if let Some(supplier) = supplier {
        scope.push_str(&format!(
            " AND o.supplier_id = {}",
            arg(&mut args, Arg::Int(supplier))
        ));
    }
    scope.push_str(&companies.condition("o.id"));
    let orders_sql = format!(
        "SELECT o.id, s.id AS supplier_id, s.name AS supplier_name, COALESCE(o.date_approve, o.date_order) AS released_at,
                o.acknowledged_at, (SELECT MAX(r.date_done) FROM receipts r WHERE r.order_id = o.id AND r.state = 'done') AS received_at
         FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.odoo_state = 'purchase' AND {scope}
         ORDER BY s.name, s.id, o.id"
    );
    let orders: Vec<OrderRow> = bind_args(sqlx::query_as(&orders_sql), &args)
        .fetch_all(db)
        .await?;
    let lines_sql = format!(
        "SELECT l.id, l.order_id, l.answer, l.quantity, l.qty_received, l.date_planned
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
         WHERE l.removed_in_odoo = FALSE AND {scope}"
    );
    let lines: Vec<LineRow> = bind_args(sqlx::query_as(&lines_sql), &args)
        .fetch_all(db)
        .await?;
    let announced_sql = format!(
        "SELECT nl.line_id, nl.quantity FROM shipment_notice_lines nl
         JOIN shipment_notices n ON n.id = nl.notice_id
         JOIN purchase_order_lines l ON l.id = nl.line_id JOIN purchase_orders o ON o.id = l.order_id
         WHERE n.status <> 'cancelled' AND {scope}"
    );
    let announced_rows: Vec<(i64, String)> = bind_args(sqlx::query_as(&announced_sql), &args)
        .fetch_all(db)
        .await?;
    let mut announced: HashMap<i64, Decimal> = HashMap::new();
    for (line, q) in announced_rows {
        *announced.entry(line).or_default() += db::decimal(&q)?;
    }
    let mut lines_of: HashMap<i64, Vec<LineFacts>> = HashMap::new();
    for line in lines {
        lines_of.entry(line.order_id).or_default().push(LineFacts {
            answer: line.answer.map(|a| a.0.code().to_string()),
            quantity: line.quantity.get(),
            received: line.qty_received.get(),
            confirmed: line.date_planned.map(|t| t.get().date()),
            announced: announced.get(&line.id).copied(),
        });
    }
    let mut out: Vec<(i64, String, Vec<OrderFacts>)> = Vec::new();
    for order in orders {
        let Some(released) = order.released_at else {
            continue;
        };
        let facts = OrderFacts {
            released: released.get(),
            acknowledged: order.acknowledged_at.map(UtcTime::get),
            received_on: order.received_at.map(|t| t.get().date()),
            lines: lines_of.remove(&order.id).unwrap_or_default(),
        };
        match out.last_mut() {
            Some((id, _, list)) if *id == order.supplier_id => list.push(facts),
            _ => out.push((order.supplier_id, order.supplier_name, vec![facts])),
        }
    }
    Ok(out)
}

/// A released order: its supplier, when it was released, acknowledged and last received.
#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    supplier_id: i64,
    supplier_name: String,
    released_at: Option<UtcTime>,
    acknowledged_at: Option<UtcTime>,
    received_at: Option<UtcTime>,
}

/// A line of a released order: the supplier's answer, quantities and the date it is due.
#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    order_id: i64,
    answer: Option<Code<LineAnswerState>>,
    quantity: Quantity,
    qty_received: Quantity,
    date_planned: Option<UtcTime>,
}

/// Every organisation, by name (the staff's supplier filter).
pub async fn supplier_names(db: &Db) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM suppliers ORDER BY name, id")
        .fetch_all(db)
        .await
}

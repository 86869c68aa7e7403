//! Loads what `domain::performance` scores: released orders of a period with their lines,
//! receipts and shipment notices.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::domain::performance::{LineFacts, OrderFacts};
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
        "SELECT o.id, s.id, s.name, COALESCE(o.date_approve, o.date_order), o.acknowledged_at,
                (SELECT MAX(r.date_done) FROM receipts r WHERE r.order_id = o.id AND r.state = 'done')
         FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.odoo_state = 'purchase' AND {scope}
         ORDER BY s.name, s.id, o.id"
    );
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let orders: Vec<(
        i64,
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = bind_args(sqlx::query_as(&orders_sql), &args)
        .fetch_all(db)
        .await?;
    let lines_sql = format!(
        "SELECT l.id, l.order_id, l.answer, l.quantity, l.qty_received, l.date_planned
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
         WHERE l.removed_in_odoo = FALSE AND {scope}"
    );
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let lines: Vec<(i64, i64, Option<String>, String, String, Option<String>)> =
        bind_args(sqlx::query_as(&lines_sql), &args)
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
    for (id, order, answer, quantity, received, planned) in lines {
        lines_of.entry(order).or_default().push(LineFacts {
            answer,
            quantity: db::decimal(&quantity)?,
            received: db::decimal(&received)?,
            confirmed: planned.as_deref().and_then(day),
            announced: announced.get(&id).copied(),
        });
    }
    let mut out: Vec<(i64, String, Vec<OrderFacts>)> = Vec::new();
    for (order, supplier_id, name, released, acknowledged, received) in orders {
        let Some(released) = released.as_deref().and_then(time) else {
            continue;
        };
        let facts = OrderFacts {
            released,
            acknowledged: acknowledged.as_deref().and_then(time),
            received_on: received.as_deref().and_then(day),
            lines: lines_of.remove(&order).unwrap_or_default(),
        };
        match out.last_mut() {
            Some((id, _, list)) if *id == supplier_id => list.push(facts),
            _ => out.push((supplier_id, name, vec![facts])),
        }
    }
    Ok(out)
}

fn time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.get(..19)?, "%Y-%m-%d %H:%M:%S").ok()
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Every organisation, by name (the staff's supplier filter).
pub async fn supplier_names(db: &Db) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM suppliers ORDER BY name, id")
        .fetch_all(db)
        .await
}

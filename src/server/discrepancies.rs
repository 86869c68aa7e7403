//! ASN against receipt: per order line, what notices announced (quantities, lots) against
//! what Odoo's validated receipts booked, judged by `domain::discrepancy`.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::api::exceptions::ReceiptDiscrepancy;
use crate::domain::discrepancy::{line_discrepancy, Discrepancy};
use crate::server::db::Db;

/// Which lines to look at.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub supplier: Option<i64>,
    pub buyer: Option<String>,
    pub order: Option<i64>,
}

/// The discrepancies of settled orders (a validated receipt, none open), newest first.
pub async fn find(db: &Db, filter: &Filter) -> Result<Vec<ReceiptDiscrepancy>, sqlx::Error> {
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let lines: Vec<(i64, i64, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT l.id, l.odoo_id, o.id, o.name, s.name, l.description, l.qty_received
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
         JOIN suppliers s ON s.id = o.supplier_id
         WHERE l.removed_in_odoo = 0 AND o.visible = 1
           AND ($1 = 0 OR o.supplier_id = $1) AND ($2 = '' OR o.buyer_name = $2) AND ($3 = 0 OR o.id = $3)
           AND EXISTS (SELECT 1 FROM receipts r WHERE r.order_id = o.id AND r.state = 'done')
           AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.order_id = o.id AND r.state NOT IN ('done', 'cancel'))
         ORDER BY o.id DESC, l.sequence, l.id",
    )
    .bind(filter.supplier.unwrap_or(0))
    .bind(filter.buyer.clone().unwrap_or_default())
    .bind(filter.order.unwrap_or(0))
    .fetch_all(db)
    .await?;
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let notices: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT nl.line_id, nl.quantity, nl.lot_numbers FROM shipment_notice_lines nl
         JOIN shipment_notices n ON n.id = nl.notice_id WHERE n.status <> 'cancelled'",
    )
    .fetch_all(db)
    .await?;
    let mut announced: HashMap<i64, (Decimal, Vec<String>)> = HashMap::new();
    for (line, quantity, lots) in notices {
        let entry = announced.entry(line).or_default();
        entry.0 += quantity.parse::<Decimal>().unwrap_or_default();
        entry
            .1
            .extend(serde_json::from_str::<Vec<String>>(&lots).unwrap_or_default());
    }
    let booked: Vec<(i64, String)> =
        sqlx::query_as("SELECT line_odoo_id, lot_name FROM received_lots")
            .fetch_all(db)
            .await?;
    let mut received_lots: HashMap<i64, Vec<String>> = HashMap::new();
    for (line, lot) in booked {
        received_lots.entry(line).or_default().push(lot);
    }
    Ok(lines
        .into_iter()
        .filter_map(
            |(
                line_id,
                line_odoo_id,
                order_id,
                order_name,
                supplier_name,
                description,
                received,
            )| {
                let (quantity, lots) = announced
                    .get(&line_id)
                    .map(|(q, l)| (Some(*q), l.as_slice()))
                    .unwrap_or((None, &[]));
                let found: Discrepancy = line_discrepancy(
                    quantity,
                    received.parse().unwrap_or_default(),
                    lots,
                    received_lots
                        .get(&line_odoo_id)
                        .map(Vec::as_slice)
                        .unwrap_or(&[]),
                    true,
                )?;
                Some(ReceiptDiscrepancy {
                    order_id,
                    order_name,
                    supplier_name,
                    line_id,
                    description,
                    kind: found.code().to_string(),
                    detail: found.describe(),
                })
            },
        )
        .collect())
}

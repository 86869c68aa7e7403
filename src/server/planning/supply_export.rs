//! The supply the portal offers back to the planning platform (issue 14, part 4): what is
//! still coming on open purchase orders, dated as the supplier confirmed it (Odoo's planned
//! date where the supplier has not answered), and what suppliers announced in shipment
//! notices with their expected arrival; each row says where its date comes from. Items are
//! planning item codes (an explicit item mapping, else the product's internal reference);
//! locations the planning location whose warehouse receives the order.
//!
//! [`write_every`] writes the same CSV to a folder on a schedule (every instance does, each
//! file replaced whole by a rename, so a reader never sees half of one).
//!
//! On-hand stock comes from [`refresh_on_hand`]: Odoo's `qty_available` per warehouse for
//! the item-locations of the latest approved forecast, read in the background (one `read`
//! per warehouse) and offered as `on_hand` rows dated by that read.
//!
//! Not here: the lead time of a product without a vendor pricelist row; lines the supplier
//! declined are left out.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::order::LineAnswerState;
use crate::model::planning_items::SupplyRow;
use crate::server::db::typed::{Code, Quantity};
use crate::server::db::{self, Db};

/// The columns of the CSV, in order (the JSON rows carry the same names).
pub const COLUMNS: [&str; 14] = [
    "item",
    "location",
    "ship_to",
    "product_odoo_id",
    "supply_type",
    "quantity",
    "unit",
    "date",
    "date_source",
    "order",
    "order_line_odoo_id",
    "supplier",
    "shipment_notice",
    "lead_time_days",
];

/// An open purchase line as the supply export reads it: its order, supplier, product,
/// quantities, dates, the supplier's answer, ship-to and lead time.
#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    odoo_id: i64,
    order_name: String,
    supplier_name: String,
    product_odoo_id: Option<i64>,
    product_code: String,
    uom: String,
    quantity: Quantity,
    qty_received: Quantity,
    date_planned: Option<String>,
    answer: Option<Code<LineAnswerState>>,
    proposed_date: Option<String>,
    proposed_quantity: Option<Quantity>,
    ship_to_key: Option<String>,
    lead_time_days: Option<i64>,
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Every open purchase line's remaining supply and every announced shipment, by item,
/// location and date.
pub async fn rows(db: &Db) -> Result<Vec<SupplyRow>, sqlx::Error> {
    let items: Vec<(String, i64)> =
        sqlx::query_as("SELECT item_code, product_odoo_id FROM planning_items ORDER BY item_code")
            .fetch_all(db)
            .await?;
    let mut item_of: HashMap<i64, String> = HashMap::new();
    for (code, product) in items {
        item_of.entry(product).or_insert(code);
    }
    let locations: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT location_code, warehouse_odoo_id FROM planning_locations ORDER BY location_code",
    )
    .fetch_all(db)
    .await?;
    let mut location_of: HashMap<String, String> = HashMap::new();
    for (code, warehouse) in locations {
        if let Some(w) = warehouse {
            location_of.entry(format!("warehouse:{w}")).or_insert(code);
        }
    }
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT l.id, l.odoo_id, o.name AS order_name, s.name AS supplier_name, l.product_odoo_id, l.product_code, l.uom,
                l.quantity, l.qty_received, l.date_planned, l.answer, l.proposed_date, l.proposed_quantity, h.ship_to_key,
                vp.lead_time_days
         FROM purchase_order_lines l
         JOIN purchase_orders o ON o.id = l.order_id
         JOIN suppliers s ON s.id = o.supplier_id
         LEFT JOIN order_headers h ON h.order_id = o.id
         LEFT JOIN vendor_products vp ON vp.odoo_partner_id = s.odoo_partner_id AND vp.product_odoo_id = l.product_odoo_id
         WHERE o.odoo_state = 'purchase' AND l.removed_in_odoo = FALSE
         ORDER BY l.id",
    )
    .fetch_all(db)
    .await?;
    let notices: Vec<(i64, String, String, Quantity)> = sqlx::query_as(
        "SELECT nl.line_id, n.number, n.expected_arrival, nl.quantity
         FROM shipment_notice_lines nl JOIN shipment_notices n ON n.id = nl.notice_id
         JOIN purchase_order_lines l ON l.id = nl.line_id JOIN purchase_orders o ON o.id = l.order_id
         WHERE n.status = 'submitted' AND o.odoo_state = 'purchase' AND l.removed_in_odoo = FALSE
         ORDER BY n.id, nl.id",
    )
    .fetch_all(db)
    .await?;
    let mut notices_of: HashMap<i64, Vec<(String, String, Decimal)>> = HashMap::new();
    for (line, number_, arrival, quantity) in notices {
        notices_of
            .entry(line)
            .or_default()
            .push((number_, arrival, quantity.get()));
    }
    let mut out = Vec::new();
    for l in lines {
        let LineRow {
            id: line_id,
            odoo_id: line_odoo_id,
            order_name: order,
            supplier_name: supplier,
            product_odoo_id: product,
            product_code,
            uom: unit,
            quantity,
            qty_received: received,
            date_planned: planned,
            answer,
            proposed_date,
            proposed_quantity,
            ship_to_key: ship_to,
            lead_time_days: lead_time,
        } = l;
        let answer = answer.map(|a| a.0);
        if answer == Some(LineAnswerState::Rejected) {
            continue;
        }
        let proposal = matches!(
            answer,
            Some(LineAnswerState::ProposalPending | LineAnswerState::ProposalAccepted)
        );
        // What the supplier said it delivers, and when; Odoo's line where it said nothing.
        let (total, date, date_source) = match answer {
            Some(_) if proposal => (
                proposed_quantity.unwrap_or(quantity).get(),
                proposed_date
                    .as_deref()
                    .or(planned.as_deref())
                    .and_then(day),
                "supplier_confirmed",
            ),
            Some(LineAnswerState::Accepted) => (
                quantity.get(),
                planned.as_deref().and_then(day),
                "supplier_confirmed",
            ),
            _ => (
                quantity.get(),
                planned.as_deref().and_then(day),
                "odoo_planned",
            ),
        };
        let item = product
            .and_then(|p| item_of.get(&p).cloned())
            .unwrap_or_else(|| product_code.clone());
        let ship_to = ship_to.unwrap_or_default();
        let location = location_of.get(&ship_to).cloned().unwrap_or_default();
        let row = |supply_type: &str,
                   quantity: Decimal,
                   date: Option<NaiveDate>,
                   date_source: &str,
                   notice: Option<String>| SupplyRow {
            item: item.clone(),
            location: location.clone(),
            ship_to: ship_to.clone(),
            product_odoo_id: product,
            supply_type: supply_type.into(),
            quantity: quantity.normalize().to_string(),
            unit: unit.clone(),
            date: date.map(|d| d.to_string()).unwrap_or_default(),
            date_source: date_source.into(),
            order: order.clone(),
            order_line_odoo_id: Some(line_odoo_id),
            supplier: supplier.clone(),
            shipment_notice: notice,
            lead_time_days: lead_time,
        };
        let mut announced = Decimal::ZERO;
        for (notice, arrival, q) in notices_of.remove(&line_id).unwrap_or_default() {
            announced += q;
            out.push(row(
                "shipment_notice",
                q,
                day(&arrival),
                "shipment_notice",
                Some(notice),
            ));
        }
        let open = total - received.get() - announced;
        if open > Decimal::ZERO {
            out.push(row("open_purchase", open, date, date_source, None));
        }
    }
    let on_hand: Vec<(String, String, i64, i64, Quantity, String, String)> = sqlx::query_as(
        "SELECT item_code, location_code, product_odoo_id, warehouse_odoo_id, quantity, unit, read_at FROM planning_on_hand",
    )
    .fetch_all(db)
    .await?;
    for (item, location, product, warehouse, quantity, unit, read_at) in on_hand {
        out.push(SupplyRow {
            item,
            location,
            ship_to: format!("warehouse:{warehouse}"),
            product_odoo_id: Some(product),
            supply_type: "on_hand".into(),
            quantity: quantity.to_string(),
            unit,
            date: day(&read_at).map(|d| d.to_string()).unwrap_or_default(),
            date_source: "odoo_on_hand".into(),
            order: String::new(),
            order_line_odoo_id: None,
            supplier: String::new(),
            shipment_notice: None,
            lead_time_days: None,
        });
    }
    out.sort_by(|a, b| {
        (&a.item, &a.location, &a.date, a.order_line_odoo_id).cmp(&(
            &b.item,
            &b.location,
            &b.date,
            b.order_line_odoo_id,
        ))
    });
    Ok(out)
}

/// The rows as CSV with a header of [`COLUMNS`].
pub fn csv(rows: &[SupplyRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for r in rows {
        let _ = w.write_record([
            r.item.as_str(),
            &r.location,
            &r.ship_to,
            &r.product_odoo_id.map(|p| p.to_string()).unwrap_or_default(),
            &r.supply_type,
            &r.quantity,
            &r.unit,
            &r.date,
            &r.date_source,
            &r.order,
            &r.order_line_odoo_id
                .map(|l| l.to_string())
                .unwrap_or_default(),
            &r.supplier,
            r.shipment_notice.as_deref().unwrap_or_default(),
            &r.lead_time_days.map(|d| d.to_string()).unwrap_or_default(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Reads Odoo's on-hand stock of the latest approved forecast's item-locations (one `read`
/// of `product.product` per warehouse, `qty_available` in the warehouse's context, at most
/// 1,000 products a call) and replaces what `planning_on_hand` held. How many rows it holds
/// now; nothing when the connected Odoo has no stock levels (`Optional::OnHand`).
pub async fn refresh_on_hand(
    db: &Db,
    odoo: &crate::server::odoo::OdooClient,
) -> Result<usize, String> {
    use crate::server::odoo::fields::{Optional, PRODUCT};
    if !odoo.caps.supports(Optional::OnHand) {
        return Ok(0);
    }
    let wanted: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT r.item_code, r.location_code, r.product_odoo_id, l.warehouse_odoo_id
         FROM planning_forecast_rows r JOIN planning_locations l ON l.location_code = r.location_code
         WHERE l.warehouse_odoo_id IS NOT NULL AND r.import_id = (
             SELECT id FROM planning_imports WHERE kind = 'forecast' AND status = 'approved' ORDER BY version DESC LIMIT 1)",
    )
    .fetch_all(db)
    .await
    .map_err(|e| e.to_string())?;
    let mut by_warehouse: std::collections::BTreeMap<i64, Vec<(String, String, i64)>> =
        Default::default();
    for (item, location, product, warehouse) in wanted {
        by_warehouse
            .entry(warehouse)
            .or_default()
            .push((item, location, product));
    }
    let mut found = Vec::new();
    for (warehouse, items) in &by_warehouse {
        let mut products: Vec<i64> = items.iter().map(|i| i.2).collect();
        products.sort_unstable();
        products.dedup();
        for chunk in products.chunks(1000) {
            let records = odoo
                .read_in_context(
                    PRODUCT,
                    chunk,
                    &["qty_available", "uom_id"],
                    serde_json::json!({"warehouse_id": warehouse}),
                )
                .await
                .map_err(|e| e.to_string())?;
            for r in records {
                let (Some(id), Some(q)) = (
                    r.get("id").and_then(serde_json::Value::as_i64),
                    r.get("qty_available").and_then(serde_json::Value::as_f64),
                ) else {
                    continue;
                };
                let unit = r
                    .get("uom_id")
                    .and_then(|u| u.get(1))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let quantity = Decimal::from_f64_retain(q)
                    .map(|d| d.round_dp(4).normalize().to_string())
                    .unwrap_or_else(|| q.to_string());
                for (item, location, _) in items.iter().filter(|i| i.2 == id) {
                    found.push((
                        item.clone(),
                        location.clone(),
                        id,
                        *warehouse,
                        quantity.clone(),
                        unit.clone(),
                    ));
                }
            }
        }
    }
    if found.is_empty() {
        let (held,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM planning_on_hand")
            .fetch_one(db)
            .await
            .map_err(|e| e.to_string())?;
        if held == 0 {
            return Ok(0);
        }
    }
    let now = db::now();
    // Every instance refreshes it on a timer: keyed by the table, so two replacements run
    // one after the other (never both deleting, then both inserting), and neither waits for
    // a planning import nor holds up the keyed writers behind one.
    let mut tx = db::write_keyed(db, &[db::LockKey::named("planning_on_hand")])
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("DELETE FROM planning_on_hand")
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    for (item, location, product, warehouse, quantity, unit) in &found {
        sqlx::query(
            "INSERT INTO planning_on_hand (item_code, location_code, product_odoo_id, warehouse_odoo_id, quantity, unit, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(item)
        .bind(location)
        .bind(product)
        .bind(warehouse)
        .bind(quantity)
        .bind(unit)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(found.len())
}

/// Reads on-hand stock at start and then every `every` while Odoo is connected.
pub async fn refresh_on_hand_every(
    db: Db,
    odoo: crate::server::odoo::OdooLink,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let Some(client) = odoo.client() else {
            tokio::select! {
                _ = odoo.connected() => continue,
                _ = shutdown.changed() => return,
            }
        };
        match refresh_on_hand(&db, &client).await {
            Ok(n) => tracing::debug!(rows = n, "on-hand stock read for planning"),
            Err(e) => tracing::warn!(error = %e, "could not read on-hand stock for planning"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// When the export was made, as stored times are written.
pub fn generated_at() -> String {
    db::now()
}

/// The file the scheduled export writes.
pub const FILE_NAME: &str = "millrace-supply.csv";

/// Writes the export to `dir` as [`FILE_NAME`] (through a temporary file and a rename).
pub async fn write_file(db: &Db, dir: &std::path::Path) -> Result<usize, String> {
    let rows = rows(db).await.map_err(|e| e.to_string())?;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| e.to_string())?;
    let temporary = dir.join(format!(".{FILE_NAME}.{}", uuid::Uuid::new_v4()));
    tokio::fs::write(&temporary, csv(&rows))
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = tokio::fs::rename(&temporary, dir.join(FILE_NAME)).await {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(e.to_string());
    }
    Ok(rows.len())
}

/// Writes the export at start and then every `every` until shutdown.
pub async fn write_every(
    db: Db,
    dir: std::path::PathBuf,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match write_file(&db, &dir).await {
            Ok(n) => {
                tracing::info!(rows = n, dir = %dir.display(), "planning supply export written")
            }
            Err(e) => {
                tracing::error!(error = %e, dir = %dir.display(), "could not write the planning supply export")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

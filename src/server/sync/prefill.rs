//! What a shipment notice does to Odoo's incoming receipt: the prefill (scheduled date,
//! carrier tracking reference, quantities and lot names on the move lines; never validated:
//! the warehouse validates on arrival) and the documents attached to it. Reads before each write and writes only what differs, so
//! a second delivery changes nothing.

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::outbox::PrefillLine;
use crate::server::odoo::fields::{ATTACHMENT, PICKING, STOCK_MOVE, STOCK_MOVE_LINE};
use crate::server::odoo::value::{decimal, many2one, text};
use crate::server::odoo::{OdooClient, OdooError};

/// Returns why the prefill cannot be applied (the receipt is gone), or `None` when Odoo's
/// receipt now matches.
pub async fn prefill_receipt(
    odoo: &OdooClient,
    order_odoo_id: i64,
    expected_arrival: Option<&str>,
    tracking_ref: &str,
    lines: &[PrefillLine],
) -> Result<Option<String>, OdooError> {
    let pickings = odoo
        .search_read(
            PICKING,
            json!([
                ["purchase_id", "=", order_odoo_id],
                ["state", "not in", ["done", "cancel"]]
            ]),
            &["scheduled_date", "carrier_tracking_ref"],
            Default::default(),
        )
        .await?;
    let Some(picking) = pickings.first() else {
        return Ok(Some(
            "no open receipt in Odoo for this order (received or cancelled already)".into(),
        ));
    };
    let picking_id = picking
        .get("id")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let mut vals = Map::new();
    if let Some(arrival) = expected_arrival {
        if text(picking.get("scheduled_date")).as_deref() != Some(arrival) {
            vals.insert("scheduled_date".into(), json!(arrival));
        }
    }
    if text(picking.get("carrier_tracking_ref")).unwrap_or_default() != tracking_ref {
        vals.insert(
            "carrier_tracking_ref".into(),
            if tracking_ref.is_empty() {
                json!(false)
            } else {
                json!(tracking_ref)
            },
        );
    }
    if !vals.is_empty() {
        odoo.write(PICKING, &[picking_id], Value::Object(vals))
            .await?;
    }
    let line_ids: Vec<i64> = lines.iter().map(|l| l.line_odoo_id).collect();
    let moves = odoo
        .search_read(
            STOCK_MOVE,
            json!([
                ["picking_id", "=", picking_id],
                ["purchase_line_id", "in", line_ids]
            ]),
            &[
                "purchase_line_id",
                "product_id",
                "product_uom_qty",
                "product_uom",
            ],
            Default::default(),
        )
        .await?;
    for line in lines {
        let Some(mv) = moves
            .iter()
            .find(|m| many2one(m.get("purchase_line_id")).map(|p| p.0) == Some(line.line_odoo_id))
        else {
            continue;
        };
        let move_id = mv.get("id").and_then(Value::as_i64).unwrap_or_default();
        let want = wanted_move_lines(line, decimal(mv.get("product_uom_qty")));
        let existing = odoo
            .search_read(
                STOCK_MOVE_LINE,
                json!([["move_id", "=", move_id]]),
                &["quantity", "lot_name"],
                Default::default(),
            )
            .await?;
        let mut have: Vec<(Decimal, Option<String>)> = existing
            .iter()
            .map(|m| (decimal(m.get("quantity")), text(m.get("lot_name"))))
            .collect();
        have.sort();
        let mut sorted_want = want.clone();
        sorted_want.sort();
        if have == sorted_want {
            continue;
        }
        let product = many2one(mv.get("product_id")).map(|p| p.0);
        let uom = many2one(mv.get("product_uom")).map(|p| p.0);
        let mut commands: Vec<Value> = existing
            .iter()
            .filter_map(|m| m.get("id").cloned())
            .map(|id| json!([2, id]))
            .collect();
        for (q, lot) in want {
            commands.push(json!([0, 0, {
                "quantity": q.to_string().parse::<f64>().unwrap_or_default(),
                "lot_name": lot.map(Value::String).unwrap_or(json!(false)),
                "product_id": product,
                "product_uom_id": uom,
                "picking_id": picking_id,
                "picked": false,
            }]));
        }
        odoo.write(STOCK_MOVE, &[move_id], json!({ "move_line_ids": commands }))
            .await?;
    }
    Ok(None)
}

/// Attaches a document to the order's open receipt, or to the order when it has none, once:
/// the attachment's description carries the correlation id, looked for before creating.
pub async fn attach_document(
    odoo: &OdooClient,
    order_odoo_id: i64,
    correlation_id: &str,
    name: &str,
    mimetype: &str,
    bytes: &[u8],
) -> Result<(), OdooError> {
    use base64::Engine;
    let already = odoo
        .search_count(
            ATTACHMENT,
            json!([["description", "ilike", correlation_id]]),
        )
        .await?;
    if already > 0 {
        return Ok(());
    }
    let receipt = odoo
        .search_read(
            PICKING,
            json!([
                ["purchase_id", "=", order_odoo_id],
                ["state", "not in", ["done", "cancel"]]
            ]),
            &["id"],
            Default::default(),
        )
        .await?;
    let (res_model, res_id) = match receipt
        .first()
        .and_then(|r| r.get("id"))
        .and_then(Value::as_i64)
    {
        Some(picking) => (PICKING, picking),
        None => (crate::server::odoo::fields::PURCHASE_ORDER, order_odoo_id),
    };
    odoo.create(
        ATTACHMENT,
        json!({
            "name": name,
            "res_model": res_model,
            "res_id": res_id,
            "mimetype": mimetype,
            "datas": base64::engine::general_purpose::STANDARD.encode(bytes),
            "description": format!("Uploaded in the Millrace supplier portal [Millrace ref {correlation_id}]"),
        }),
    )
    .await?;
    Ok(())
}

/// The move lines a receipt line should hold: one per serial number, one for the lot, or
/// Odoo's own default (the demand, no lot) when nothing is announced.
pub fn wanted_move_lines(line: &PrefillLine, demand: Decimal) -> Vec<(Decimal, Option<String>)> {
    let announced: Decimal = line.quantity.parse().unwrap_or_default();
    if announced.is_zero() {
        vec![(demand.normalize(), None)]
    } else if line.lot_names.len() > 1 && Decimal::from(line.lot_names.len()) == announced {
        line.lot_names
            .iter()
            .map(|s| (Decimal::ONE, Some(s.clone())))
            .collect()
    } else {
        vec![(announced.normalize(), line.lot_names.first().cloned())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: &str, lots: &[&str]) -> PrefillLine {
        PrefillLine {
            line_odoo_id: 1,
            quantity: q.into(),
            lot_names: lots.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn move_lines_follow_what_was_announced() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            wanted_move_lines(&line("0", &[]), d("12")),
            vec![(d("12"), None)]
        );
        assert_eq!(
            wanted_move_lines(&line("5", &[]), d("12")),
            vec![(d("5"), None)]
        );
        assert_eq!(
            wanted_move_lines(&line("5", &["L7"]), d("12")),
            vec![(d("5"), Some("L7".into()))]
        );
        assert_eq!(
            wanted_move_lines(&line("2", &["S1", "S2"]), d("12")),
            vec![(d("1"), Some("S1".into())), (d("1"), Some("S2".into()))]
        );
    }
}

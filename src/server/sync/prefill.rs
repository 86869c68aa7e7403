//! What a shipment notice does to Odoo's incoming receipt: the prefill (scheduled date,
//! carrier tracking reference, quantities and lot names on the move lines; never validated:
//! the warehouse validates on arrival) and the documents attached to it. Reads before each write and writes only what differs, so
//! a second delivery changes nothing.

use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::outbox::PrefillLine;
use crate::server::odoo::fields::{
    Optional, ATTACHMENT, MAIL_MESSAGE, PICKING, PURCHASE_ORDER, PURCHASE_ORDER_LINE, STOCK_MOVE,
    STOCK_MOVE_LINE,
};
use crate::server::odoo::value::{decimal, many2one, text};
use crate::server::odoo::{OdooClient, OdooError};

/// What became of a prefill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prefilled {
    /// Odoo's receipt now matches the notices.
    Receipt,
    /// This Odoo has no receipts (no Inventory app): the notice went to the order's chatter.
    NoteOnly,
    /// It cannot be applied, and why (the receipt is gone).
    Impossible(String),
}

/// Prefills the order's open incoming receipt; where this Odoo has no Inventory, tells
/// the buyer in the order's chatter instead (once per correlation id). Without a tracking
/// reference field (no `stock_delivery`), the tracking number goes to the receipt's chatter.
pub async fn prefill_receipt(
    odoo: &OdooClient,
    order_odoo_id: i64,
    correlation_id: &str,
    expected_arrival: Option<&str>,
    tracking_ref: &str,
    lines: &[PrefillLine],
) -> Result<Prefilled, OdooError> {
    if !odoo.caps.supports(Optional::Receipts) {
        return Ok(Prefilled::NoteOnly);
    }
    let tracking_field = odoo.caps.supports(Optional::TrackingReference);
    let mut fields = vec!["scheduled_date"];
    if tracking_field {
        fields.push("carrier_tracking_ref");
    }
    let pickings = odoo
        .search_read(
            PICKING,
            json!([
                ["purchase_id", "=", order_odoo_id],
                ["picking_type_code", "=", "incoming"],
                ["state", "not in", ["done", "cancel"]]
            ]),
            &fields,
            Default::default(),
        )
        .await?;
    let Some(picking) = pickings.first() else {
        return Ok(Prefilled::Impossible(
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
    if tracking_field
        && text(picking.get("carrier_tracking_ref")).unwrap_or_default() != tracking_ref
    {
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
    if !tracking_field && !tracking_ref.is_empty() {
        let body = format!("Tracking: {tracking_ref} [Millrace ref {correlation_id}]");
        post_once(odoo, PICKING, picking_id, correlation_id, &body).await?;
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
    Ok(Prefilled::Receipt)
}

/// Posts `body` in the record's chatter unless a message carrying `correlation_id` is there.
pub async fn post_once(
    odoo: &OdooClient,
    model: &str,
    id: i64,
    correlation_id: &str,
    body: &str,
) -> Result<(), OdooError> {
    let n = odoo
        .search_count(
            MAIL_MESSAGE,
            json!([
                ["model", "=", model],
                ["res_id", "=", id],
                ["body", "ilike", correlation_id]
            ]),
        )
        .await?;
    if n == 0 {
        odoo.message_post(model, id, body).await?;
    }
    Ok(())
}

/// The notice's lines as a buyer reads them in a chatter note: each order line's description
/// (read from Odoo) with the quantity and lots announced.
pub async fn describe_lines(odoo: &OdooClient, lines: &[PrefillLine]) -> Result<String, OdooError> {
    let announced: Vec<&PrefillLine> = lines.iter().filter(|l| !l.quantity.is_zero()).collect();
    let ids: Vec<i64> = announced.iter().map(|l| l.line_odoo_id).collect();
    let names = if ids.is_empty() {
        Vec::new()
    } else {
        odoo.read(PURCHASE_ORDER_LINE, &ids, &["name"]).await?
    };
    let name_of = |id: i64| {
        names
            .iter()
            .find(|n| n.get("id").and_then(Value::as_i64) == Some(id))
            .and_then(|n| text(n.get("name")))
            .unwrap_or_else(|| format!("line {id}"))
    };
    Ok(announced
        .iter()
        .map(|l| {
            let lots = if l.lot_names.is_empty() {
                String::new()
            } else {
                format!(" (lots {})", l.lot_names.join(", "))
            };
            format!(
                "{} × {}{lots}",
                l.quantity.normalize(),
                name_of(l.line_odoo_id)
            )
        })
        .collect::<Vec<_>>()
        .join("; "))
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
    let receipt = if odoo.caps.supports(Optional::Receipts) {
        odoo.search_read(
            PICKING,
            json!([
                ["purchase_id", "=", order_odoo_id],
                ["picking_type_code", "=", "incoming"],
                ["state", "not in", ["done", "cancel"]]
            ]),
            &["id"],
            Default::default(),
        )
        .await?
    } else {
        Vec::new()
    };
    let (res_model, res_id) = match receipt
        .first()
        .and_then(|r| r.get("id"))
        .and_then(Value::as_i64)
    {
        Some(picking) => (PICKING, picking),
        None => (PURCHASE_ORDER, order_odoo_id),
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
    let announced = line.quantity;
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
            quantity: q.parse().unwrap(),
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

    #[test]
    fn a_payload_quantity_that_does_not_parse_fails_to_decode() {
        let good: PrefillLine =
            serde_json::from_str(r#"{"line_odoo_id":1,"quantity":"12.5","lot_names":[]}"#).unwrap();
        assert_eq!(good.quantity, "12.5".parse::<Decimal>().unwrap());
        assert_eq!(
            serde_json::to_value(&good).unwrap()["quantity"],
            serde_json::json!("12.5"),
            "stored as the same string as before"
        );
        assert!(serde_json::from_str::<PrefillLine>(
            r#"{"line_odoo_id":1,"quantity":"twelve","lot_names":[]}"#
        )
        .is_err());
    }
}

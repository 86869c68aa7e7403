//! The order header a supplier works from, read with the order: the ordering company, the
//! ship-to (the drop-ship address, else the warehouse of the order's receipt type, else the
//! company), the buyer's contact, payment terms, incoterm, the vendor's reference, terms and
//! conditions, the untaxed amount and taxes; and the order's section and note lines. Only
//! what the connected Odoo has is read (`fields::Optional`); the rest stays not set.
//! Storing compares with what was stored, so the order's history names what the buyer changed.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::server::db::Tx;
use crate::server::odoo::fields::{
    Capabilities, Optional, COMPANY, PARTNER, PICKING_TYPE, USERS, WAREHOUSE,
};
use crate::server::odoo::value::{decimal, many2one, text};
use crate::server::odoo::{OdooClient, OdooError};

/// What the portal stores of one order's header (None: not set, or not in this Odoo).
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Header {
    pub company_odoo_id: Option<i64>,
    pub company_name: Option<String>,
    pub company_address: Option<String>,
    pub company_vat: Option<String>,
    pub ship_to_kind: Option<String>,
    pub ship_to_key: Option<String>,
    pub ship_to_name: Option<String>,
    pub ship_to_address: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub payment_terms: Option<String>,
    pub incoterm: Option<String>,
    pub incoterm_location: Option<String>,
    pub partner_ref: Option<String>,
    pub notes: Option<String>,
    pub amount_untaxed: Option<String>,
    pub amount_tax: Option<String>,
}

/// A postal address as one line per part, from a partner's or a company's fields.
fn address(r: &Map<String, Value>) -> Option<String> {
    let street = [text(r.get("street")), text(r.get("street2"))];
    let city = [text(r.get("zip")), text(r.get("city"))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let country = many2one(r.get("country_id")).map(|c| c.1);
    let parts: Vec<String> = street
        .into_iter()
        .flatten()
        .chain((!city.is_empty()).then_some(city))
        .chain(country)
        .filter(|p| !p.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// Odoo's notes are HTML: the text a person reads, paragraphs on their own lines.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut tag = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if matches!(name.as_str(), "br" | "p" | "div" | "li" | "tr") && !out.ends_with('\n')
                {
                    out.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn not_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Reads what the headers of `orders` name beyond the order itself (companies, warehouses,
/// addresses, the buyers' contacts): up to five calls, none for what this Odoo lacks.
/// Returns the headers by order id and the number of calls made.
pub async fn read_headers(
    odoo: &OdooClient,
    caps: &Capabilities,
    orders: &[Map<String, Value>],
) -> Result<(HashMap<i64, Header>, usize), OdooError> {
    let mut calls = 0;
    let ids_of = |field: &str| -> Vec<i64> {
        let set: HashSet<i64> = orders
            .iter()
            .filter_map(|o| many2one(o.get(field)).map(|m| m.0))
            .collect();
        let mut v: Vec<i64> = set.into_iter().collect();
        v.sort_unstable();
        v
    };
    let by_id = |rows: Vec<Map<String, Value>>| -> HashMap<i64, Map<String, Value>> {
        rows.into_iter()
            .filter_map(|r| Some((r.get("id")?.as_i64()?, r)))
            .collect()
    };
    let companies = if caps.supports(Optional::Company) && !ids_of("company_id").is_empty() {
        calls += 1;
        let fields = caps.read_fields(COMPANY, &[]);
        by_id(odoo.read(COMPANY, &ids_of("company_id"), &fields).await?)
    } else {
        HashMap::new()
    };
    // Receipt type → warehouse → its address.
    let mut warehouse_of_type: HashMap<i64, i64> = HashMap::new();
    let mut warehouses = HashMap::new();
    if caps.supports(Optional::ShipToWarehouse) && !ids_of("picking_type_id").is_empty() {
        calls += 1;
        for t in odoo
            .read(PICKING_TYPE, &ids_of("picking_type_id"), &["warehouse_id"])
            .await?
        {
            if let (Some(id), Some((w, _))) = (
                t.get("id").and_then(Value::as_i64),
                many2one(t.get("warehouse_id")),
            ) {
                warehouse_of_type.insert(id, w);
            }
        }
        let mut ids: Vec<i64> = warehouse_of_type.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            calls += 1;
            warehouses = by_id(odoo.read(WAREHOUSE, &ids, &["name", "partner_id"]).await?);
        }
    }
    let mut partner_ids: Vec<i64> = warehouses
        .values()
        .filter_map(|w| many2one(w.get("partner_id")).map(|p| p.0))
        .collect();
    if caps.supports(Optional::DropShipAddress) {
        partner_ids.extend(ids_of("dest_address_id"));
    }
    partner_ids.sort_unstable();
    partner_ids.dedup();
    let partners = if partner_ids.is_empty() {
        HashMap::new()
    } else {
        calls += 1;
        let fields: Vec<&str> = ["name", "street", "street2", "zip", "city", "country_id"]
            .into_iter()
            .filter(|f| caps.has(PARTNER, f))
            .collect();
        by_id(odoo.read(PARTNER, &partner_ids, &fields).await?)
    };
    let users = if caps.supports(Optional::BuyerContact) && !ids_of("user_id").is_empty() {
        calls += 1;
        by_id(
            odoo.read(USERS, &ids_of("user_id"), &["email", "phone"])
                .await?,
        )
    } else {
        HashMap::new()
    };

    let notes_field = caps.order_notes();
    let mut out = HashMap::new();
    for o in orders {
        let Some(id) = o.get("id").and_then(Value::as_i64) else {
            continue;
        };
        let mut h = Header::default();
        let company = many2one(o.get("company_id"));
        if let Some((cid, cname)) = &company {
            let rec = companies.get(cid);
            h.company_odoo_id = Some(*cid);
            h.company_name = not_empty(
                rec.and_then(|r| text(r.get("name")))
                    .or(Some(cname.clone())),
            );
            h.company_address = rec.and_then(address);
            h.company_vat = not_empty(rec.and_then(|r| text(r.get("vat"))));
        }
        let drop_ship = many2one(o.get("dest_address_id"));
        let warehouse = many2one(o.get("picking_type_id"))
            .and_then(|(t, _)| warehouse_of_type.get(&t).copied())
            .and_then(|w| Some((w, warehouses.get(&w)?)));
        if let Some((pid, pname)) = drop_ship {
            let rec = partners.get(&pid);
            h.ship_to_kind = Some("dropship".into());
            h.ship_to_key = Some(format!("partner:{pid}"));
            h.ship_to_name = not_empty(rec.and_then(|r| text(r.get("name"))).or(Some(pname)));
            h.ship_to_address = rec.and_then(address);
        } else if let Some((wid, w)) = warehouse {
            let partner = many2one(w.get("partner_id")).and_then(|(p, _)| partners.get(&p));
            h.ship_to_kind = Some("warehouse".into());
            h.ship_to_key = Some(format!("warehouse:{wid}"));
            h.ship_to_name = not_empty(text(w.get("name")));
            h.ship_to_address = partner.and_then(address).or(h.company_address.clone());
        } else if let Some((cid, _)) = &company {
            // No Inventory: goods go to the company (purchase.order.dest_address_id's help).
            h.ship_to_kind = Some("company".into());
            h.ship_to_key = Some(format!("company:{cid}"));
            h.ship_to_name = h.company_name.clone();
            h.ship_to_address = h.company_address.clone();
        }
        if let Some((uid, _)) = many2one(o.get("user_id")) {
            let u = users.get(&uid);
            h.buyer_email = not_empty(u.and_then(|u| text(u.get("email"))));
            h.buyer_phone = not_empty(u.and_then(|u| text(u.get("phone"))));
        }
        h.payment_terms = not_empty(many2one(o.get("payment_term_id")).map(|p| p.1));
        h.incoterm = not_empty(many2one(o.get("incoterm_id")).map(|p| p.1));
        h.incoterm_location = not_empty(text(o.get("incoterm_location")));
        h.partner_ref = not_empty(text(o.get("partner_ref")));
        h.notes = notes_field
            .and_then(|f| text(o.get(f)))
            .map(|n| html_to_text(&n))
            .and_then(|n| not_empty(Some(n)));
        if caps.supports(Optional::Taxes) {
            h.amount_untaxed = Some(decimal(o.get("amount_untaxed")).to_string());
            h.amount_tax = Some(decimal(o.get("amount_tax")).to_string());
        }
        out.insert(id, h);
    }
    Ok((out, calls))
}

fn shown(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("not set")
}

/// Stores the header of one order (in the poller's transaction) and returns what changed
/// since the last one stored, in words (nothing the first time, nor for the supplier's own
/// reference coming back from Odoo).
/// `read_at`: when the poll started reading the order (our clock).
pub async fn store(
    tx: &mut Tx<'_>,
    order_id: i64,
    h: &Header,
    read_at: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let before: Option<Header> = sqlx::query_as(
        "SELECT company_odoo_id, company_name, company_address, company_vat, ship_to_kind, ship_to_key, ship_to_name, ship_to_address,
                buyer_email, buyer_phone, payment_terms, incoterm, incoterm_location, partner_ref, notes, amount_untaxed, amount_tax
         FROM order_headers WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await?;
    let written: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT written_partner_ref, written_partner_ref_at FROM order_headers WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await?;
    // Our reference reached Odoo after this poll's reads began: what was read may be the
    // value from before it (the next poll reads it afresh).
    let read_before_our_write = written
        .as_ref()
        .and_then(|(_, at)| at.as_deref())
        .is_some_and(|at| at >= read_at);
    let mut h = h.clone();
    if read_before_our_write
        || crate::server::order_document::reference_pending(tx, order_id).await?
    {
        h.partner_ref = before.as_ref().and_then(|b| b.partner_ref.clone());
    }
    let mut changes = Vec::new();
    if let Some(b) = &before {
        let mut compare = |what: &str, old: &Option<String>, new: &Option<String>| {
            if old != new {
                changes.push(format!("{what}: {} → {}", shown(old), shown(new)));
            }
        };
        compare("buying company", &b.company_name, &h.company_name);
        compare("ship to", &b.ship_to_name, &h.ship_to_name);
        if b.ship_to_name == h.ship_to_name {
            compare("ship-to address", &b.ship_to_address, &h.ship_to_address);
        }
        compare("payment terms", &b.payment_terms, &h.payment_terms);
        compare("incoterm", &b.incoterm, &h.incoterm);
        compare(
            "incoterm location",
            &b.incoterm_location,
            &h.incoterm_location,
        );
        compare("buyer's e-mail", &b.buyer_email, &h.buyer_email);
        let ours = written
            .as_ref()
            .is_some_and(|(w, _)| w.is_some() && *w == h.partner_ref);
        if !ours {
            compare("your reference", &b.partner_ref, &h.partner_ref);
        }
        if b.notes != h.notes {
            changes.push("terms and conditions changed".into());
        }
    }
    sqlx::query(
        "INSERT INTO order_headers (order_id, company_odoo_id, company_name, company_address, company_vat, ship_to_kind, ship_to_key, ship_to_name,
            ship_to_address, buyer_email, buyer_phone, payment_terms, incoterm, incoterm_location, partner_ref, notes, amount_untaxed, amount_tax)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (order_id) DO UPDATE SET company_odoo_id = excluded.company_odoo_id, company_name = excluded.company_name,
            company_address = excluded.company_address, company_vat = excluded.company_vat, ship_to_kind = excluded.ship_to_kind,
            ship_to_key = excluded.ship_to_key, ship_to_name = excluded.ship_to_name, ship_to_address = excluded.ship_to_address,
            buyer_email = excluded.buyer_email, buyer_phone = excluded.buyer_phone, payment_terms = excluded.payment_terms,
            incoterm = excluded.incoterm, incoterm_location = excluded.incoterm_location, partner_ref = excluded.partner_ref,
            notes = excluded.notes, amount_untaxed = excluded.amount_untaxed, amount_tax = excluded.amount_tax",
    )
    .bind(order_id)
    .bind(h.company_odoo_id)
    .bind(&h.company_name)
    .bind(&h.company_address)
    .bind(&h.company_vat)
    .bind(&h.ship_to_kind)
    .bind(&h.ship_to_key)
    .bind(&h.ship_to_name)
    .bind(&h.ship_to_address)
    .bind(&h.buyer_email)
    .bind(&h.buyer_phone)
    .bind(&h.payment_terms)
    .bind(&h.incoterm)
    .bind(&h.incoterm_location)
    .bind(&h.partner_ref)
    .bind(&h.notes)
    .bind(&h.amount_untaxed)
    .bind(&h.amount_tax)
    .execute(&mut **tx)
    .await?;
    Ok(changes)
}

/// One section or note line: (odoo id, sequence, `line_section` or `line_note`, text).
pub type NoteLine = (i64, i64, String, String);

/// Replaces the order's section and note lines with those Odoo has now.
pub async fn store_note_lines(
    tx: &mut Tx<'_>,
    order_id: i64,
    lines: &[NoteLine],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM order_note_lines WHERE order_id = $1")
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    for (odoo_id, sequence, kind, text) in lines {
        sqlx::query(
            "INSERT INTO order_note_lines (odoo_id, order_id, sequence, kind, text) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (odoo_id) DO UPDATE SET order_id = excluded.order_id, sequence = excluded.sequence, kind = excluded.kind, text = excluded.text",
        )
        .bind(odoo_id)
        .bind(order_id)
        .bind(sequence)
        .bind(kind)
        .bind(text)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_in_html_read_as_lines_of_text() {
        for (html, text) in [
            (
                "<p>Deliver by 7:00</p><p>Gate&nbsp;B &amp; C</p>",
                "Deliver by 7:00\nGate B & C",
            ),
            ("plain", "plain"),
            ("<p><br></p>", ""),
            ("a<br/>b", "a\nb"),
        ] {
            assert_eq!(html_to_text(html), text, "{html}");
        }
    }
}

//! The order as a supplier needs it, from what the poller stored (`sync::order_header`): the
//! header for the order page and the PDF, the companies and plants the user's orders come
//! from, and the supplier's own reference on the order (stored at once, sent to Odoo's
//! `partner_ref` through the outbox and delivered idempotently). Scoped like the orders:
//! another supplier's order is not found.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::json;

use crate::domain::order::OrderStatus;
use crate::domain::outcome::Outcome as Answer;
use crate::model::order_document::{
    ship_to_label, DestinationGroup, FilterOption, NoteLineView, OriginOptions,
};
use crate::model::orders::OrderFilter;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, arg, Arg, Db, Tx};
use crate::server::idempotency::Submission;
use crate::server::odoo::fields::PURCHASE_ORDER;
use crate::server::odoo::value::text;
use crate::server::odoo::{OdooClient, OdooError};
use crate::server::order_events;
use crate::server::orders::ActionError;
use crate::server::sync::outbox::{self, OutboxAction, Outcome};

/// The longest reference accepted (Odoo's `partner_ref` has no limit; a reference longer
/// than this is a paste gone wrong).
pub const MAX_REFERENCE_CHARS: usize = 64;

/// The order's header as stored. `None` reads "not set": Odoo left it empty, or the
/// connected Odoo has no such field (`server::odoo::fields` says which, and why).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderHeader {
    pub order_id: i64,
    pub order_name: String,
    pub company_name: Option<String>,
    pub company_address: Option<String>,
    pub company_vat: Option<String>,
    /// `warehouse`, `dropship` or `company`.
    pub ship_to_kind: Option<String>,
    pub ship_to_name: Option<String>,
    pub ship_to_address: Option<String>,
    pub buyer_name: String,
    pub buyer_email: Option<String>,
    pub buyer_phone: Option<String>,
    pub payment_terms: Option<String>,
    pub incoterm: Option<String>,
    pub incoterm_location: Option<String>,
    pub partner_ref: Option<String>,
    /// Whether the supplier may set its reference here (supplier users, an order not
    /// cancelled, an Odoo with the field).
    pub can_set_reference: bool,
    pub notes: Option<String>,
    pub currency: String,
    pub amount_untaxed: Option<Decimal>,
    pub amount_tax: Option<Decimal>,
    pub amount_total: Decimal,
    /// When Odoo last changed the order (UTC).
    pub odoo_changed_at: NaiveDateTime,
    pub note_lines: Vec<NoteLineView>,
}

impl OrderHeader {
    pub fn ship_to_label(&self) -> &'static str {
        ship_to_label(self.ship_to_kind.as_deref())
    }
}

#[derive(sqlx::FromRow)]
struct HeaderRow {
    id: i64,
    odoo_id: i64,
    name: String,
    status: String,
    buyer_name: String,
    currency: String,
    amount_total: String,
    odoo_write_date: String,
    company_name: Option<String>,
    company_address: Option<String>,
    company_vat: Option<String>,
    ship_to_kind: Option<String>,
    ship_to_name: Option<String>,
    ship_to_address: Option<String>,
    buyer_email: Option<String>,
    buyer_phone: Option<String>,
    payment_terms: Option<String>,
    incoterm: Option<String>,
    incoterm_location: Option<String>,
    partner_ref: Option<String>,
    notes: Option<String>,
    amount_untaxed: Option<String>,
    amount_tax: Option<String>,
}

async fn header_row(
    db: &Db,
    user: &CurrentUser,
    id: i64,
) -> Result<Option<HeaderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT o.id, o.odoo_id, o.name, o.status, o.buyer_name, o.currency, o.amount_total, o.odoo_write_date,
                h.company_name, h.company_address, h.company_vat, h.ship_to_kind, h.ship_to_name, h.ship_to_address,
                h.buyer_email, h.buyer_phone, h.payment_terms, h.incoterm, h.incoterm_location, h.partner_ref, h.notes,
                h.amount_untaxed, h.amount_tax
         FROM purchase_orders o LEFT JOIN order_headers h ON h.order_id = o.id
         WHERE o.id = $1 AND o.visible = TRUE AND ($2 IS NULL OR o.supplier_id = $2){}",
        user.companies.condition("o.id")
    ))
    .bind(id)
    .bind(user.supplier_id)
    .fetch_optional(db)
    .await
}

/// Where each section and note line stands among the goods lines, in Odoo's order
/// (sequence, then id).
async fn note_lines(db: &Db, order_id: i64) -> Result<Vec<NoteLineView>, sqlx::Error> {
    let notes: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT odoo_id, sequence, kind, text FROM order_note_lines WHERE order_id = $1 ORDER BY sequence, odoo_id",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?;
    if notes.is_empty() {
        return Ok(Vec::new());
    }
    let goods: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, sequence, odoo_id FROM purchase_order_lines WHERE order_id = $1 AND removed_in_odoo = FALSE",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?;
    Ok(notes
        .into_iter()
        .map(|(odoo_id, sequence, kind, text)| NoteLineView {
            after_line: goods
                .iter()
                .filter(|(_, s, o)| (*s, *o) < (sequence, odoo_id))
                .max_by_key(|(_, s, o)| (*s, *o))
                .map(|(id, _, _)| *id),
            section: kind == "line_section",
            text,
        })
        .collect())
}

/// The order's header as the user sees it; None for an order that is not theirs.
/// `reference_in_odoo`: the connected Odoo has a vendor reference to write to.
pub async fn header(
    db: &Db,
    user: &CurrentUser,
    order_id: i64,
    reference_in_odoo: bool,
) -> Result<Option<OrderHeader>, sqlx::Error> {
    let Some(r) = header_row(db, user, order_id).await? else {
        return Ok(None);
    };
    let cancelled = OrderStatus::from_code(&r.status) == Some(OrderStatus::Cancelled);
    Ok(Some(OrderHeader {
        order_id: r.id,
        order_name: r.name,
        company_name: r.company_name,
        company_address: r.company_address,
        company_vat: r.company_vat,
        ship_to_kind: r.ship_to_kind,
        ship_to_name: r.ship_to_name,
        ship_to_address: r.ship_to_address,
        buyer_name: r.buyer_name,
        buyer_email: r.buyer_email,
        buyer_phone: r.buyer_phone,
        payment_terms: r.payment_terms,
        incoterm: r.incoterm,
        incoterm_location: r.incoterm_location,
        partner_ref: r.partner_ref,
        can_set_reference: user.supplier_id.is_some() && !cancelled && reference_in_odoo,
        notes: r.notes,
        currency: r.currency,
        amount_untaxed: db::opt_decimal(r.amount_untaxed)?,
        amount_tax: db::opt_decimal(r.amount_tax)?,
        amount_total: db::decimal(&r.amount_total)?,
        odoo_changed_at: db::utc_time(&r.odoo_write_date)?,
        note_lines: note_lines(db, r.id).await?,
    }))
}

/// The companies and ship-to plants of the orders the user sees, for the inbox's filters:
/// from `order_origin_counts` (kept by triggers, migration 0041), or counted live for a
/// buyer limited to some companies.
pub async fn origins(db: &Db, user: &CurrentUser) -> Result<OriginOptions, sqlx::Error> {
    if user.companies.is_limited() {
        return origins_counted(db, user).await;
    }
    let rows: Vec<(String, String, String)> = match user.supplier_id {
        Some(supplier) => sqlx::query_as(
            "SELECT kind, value, label FROM order_origin_counts WHERE supplier_id = $1 AND orders > 0",
        )
        .bind(supplier)
        .fetch_all(db)
        .await?,
        None => sqlx::query_as(
            "SELECT DISTINCT kind, value, label FROM order_origin_counts WHERE orders > 0",
        )
        .fetch_all(db)
        .await?,
    };
    Ok(origin_options(rows.into_iter().map(
        |(kind, value, label)| {
            if kind == "company" {
                (Some(value), Some(label), None, None)
            } else {
                (None, None, Some(value), Some(label))
            }
        },
    )))
}

/// Where an order comes from and its goods go, as its header says: the ordering company
/// and the ship-to.
#[derive(sqlx::FromRow)]
struct OriginRow {
    company_odoo_id: Option<i64>,
    company_name: Option<String>,
    ship_to_key: Option<String>,
    ship_to_name: Option<String>,
}

/// [`origins`] read from every visible order's header.
pub async fn origins_counted(db: &Db, user: &CurrentUser) -> Result<OriginOptions, sqlx::Error> {
    let rows: Vec<OriginRow> = sqlx::query_as(&format!(
        "SELECT DISTINCT h.company_odoo_id, h.company_name, h.ship_to_key, h.ship_to_name
         FROM order_headers h JOIN purchase_orders o ON o.id = h.order_id
         WHERE o.visible = TRUE AND ($1 IS NULL OR o.supplier_id = $1){}",
        user.companies.condition("o.id")
    ))
    .bind(user.supplier_id)
    .fetch_all(db)
    .await?;
    Ok(origin_options(rows.into_iter().map(|r| {
        (
            r.company_odoo_id.map(|c| c.to_string()),
            r.company_name,
            r.ship_to_key,
            r.ship_to_name,
        )
    })))
}

/// The filter options of (company id, company name, ship-to key, ship-to name) rows.
fn origin_options(
    rows: impl Iterator<
        Item = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ),
    >,
) -> OriginOptions {
    let mut out = OriginOptions::default();
    for (company, company_name, key, ship_to) in rows {
        if let (Some(c), Some(n)) = (company, company_name) {
            let o = FilterOption { value: c, label: n };
            if !out.companies.contains(&o) {
                out.companies.push(o);
            }
        }
        // Plants are the company's own warehouses; drop-ship addresses are customers'.
        if let (Some(k), Some(n)) = (key, ship_to) {
            if k.starts_with("warehouse:") || k.starts_with("company:") {
                let o = FilterOption { value: k, label: n };
                if !out.plants.contains(&o) {
                    out.plants.push(o);
                }
            }
        }
    }
    out.companies.sort_by(|a, b| a.label.cmp(&b.label));
    out.plants.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// The inbox's company and plant filters, as SQL conditions on `o` (only those in force).
pub fn origin_clauses(filter: &OrderFilter, args: &mut Vec<Arg>, clauses: &mut Vec<String>) {
    if let Ok(company) = filter.company.trim().parse::<i64>() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM order_headers hc WHERE hc.order_id = o.id AND hc.company_odoo_id = {})",
            arg(args, Arg::Int(company))
        ));
    }
    let plant = filter.plant.trim();
    if !plant.is_empty() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM order_headers hp WHERE hp.order_id = o.id AND hp.ship_to_key = {})",
            arg(args, Arg::Text(plant.to_string()))
        ));
    }
}

/// The supplier sets (or, empty, clears) its own reference on the order: stored at once,
/// queued for Odoo's `partner_ref`, with an event in the order's history. The same form
/// sent again (`key`, its idempotency key: a double click, a retry) answers as the first
/// did and does nothing more; the reference the order has already (another form, a
/// request without a key) answers [`Answer::already`] and does nothing, checked under
/// the order's lock so two at once cannot both set it.
pub async fn set_reference(
    db: &Db,
    user: &CurrentUser,
    order_id: i64,
    reference: &str,
    key: Option<&str>,
) -> Result<Answer, ActionError> {
    if user.supplier_id.is_none() {
        return Err(ActionError::Invalid(
            "Only the supplier sets its own reference on an order.".into(),
        ));
    }
    let reference = reference.trim();
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(ActionError::Invalid(format!(
            "Your reference has {} characters; at most {MAX_REFERENCE_CHARS} fit.",
            reference.chars().count()
        )));
    }
    if reference.chars().any(char::is_control) {
        return Err(ActionError::Invalid(
            "Your reference must be one line of text.".into(),
        ));
    }
    let o = header_row(db, user, order_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if OrderStatus::from_code(&o.status) == Some(OrderStatus::Cancelled) {
        return Err(ActionError::Invalid(format!(
            "{} was cancelled by the buyer; its reference can no longer change.",
            o.name
        )));
    }
    let submission = Submission::new(user.id, key, "set_reference", &(o.id, reference))?;
    // The header, the outbox message and the history all belong to the order.
    let mut tx = db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::order(o.id)])).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    // Read again under the lock: another request may have set it since `header_row`.
    let current: Option<(Option<String>,)> =
        sqlx::query_as("SELECT partner_ref FROM order_headers WHERE order_id = $1")
            .bind(o.id)
            .fetch_optional(&mut *tx)
            .await?;
    if current.and_then(|(r,)| r).unwrap_or_default() == reference {
        return Ok(Answer::already(if reference.is_empty() {
            format!("{} has no reference of yours to clear.", o.name)
        } else {
            format!("Your reference on {} is {reference} already.", o.name)
        }));
    }
    let correlation_id = outbox::new_correlation_id();
    let stored = (!reference.is_empty()).then(|| reference.to_string());
    sqlx::query(
        "INSERT INTO order_headers (order_id, partner_ref) VALUES ($1, $2)
         ON CONFLICT (order_id) DO UPDATE SET partner_ref = excluded.partner_ref",
    )
    .bind(o.id)
    .bind(&stored)
    .execute(&mut *tx)
    .await?;
    let action = OutboxAction::SetVendorReference {
        order_odoo_id: o.odoo_id,
        order_name: o.name.clone(),
        reference: reference.to_string(),
        user: format!("{} <{}>", user.display_name, user.email),
    };
    outbox::enqueue(&mut tx, &correlation_id, &action).await?;
    let detail = match &stored {
        Some(r) => format!("set its reference to {r}"),
        None => "cleared its reference".to_string(),
    };
    order_events::record_event(
        &mut tx,
        o.id,
        Some(user.id),
        "reference_set",
        &detail,
        Some(&correlation_id),
    )
    .await?;
    let answer = Answer::done(match &stored {
        Some(r) => format!("Your reference on {} is now {r}; it is on its way to Odoo.", o.name),
        None => format!("Your reference on {} is cleared; Odoo hears of it next.", o.name),
    });
    submission.record(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(po = %o.name, user = user.id, correlation_id, "vendor reference set");
    Ok(answer)
}

/// Whether a reference the supplier set is still on its way to Odoo (the poller then keeps
/// the portal's, so an older read of Odoo does not undo it).
pub async fn reference_pending(tx: &mut Tx<'_>, order_id: i64) -> Result<bool, sqlx::Error> {
    let r: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM outbox_messages WHERE order_odoo_id = (SELECT odoo_id FROM purchase_orders WHERE id = $1)
           AND kind = $2 AND status IN ('pending', 'conflict') LIMIT 1",
    )
    .bind(order_id)
    .bind(outbox::VENDOR_REFERENCE_KIND)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(r.is_some())
}

/// Remembers the reference the portal wrote, so reading it back is no change by the buyer.
pub async fn remember_written_reference(
    tx: &mut Tx<'_>,
    order_odoo_id: i64,
    reference: &str,
) -> Result<(), sqlx::Error> {
    let written = (!reference.is_empty()).then_some(reference);
    sqlx::query(
        "UPDATE order_headers SET written_partner_ref = $1, written_partner_ref_at = $2 WHERE order_id = (SELECT id FROM purchase_orders WHERE odoo_id = $3)",
    )
    .bind(written)
    .bind(db::now())
    .bind(order_odoo_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Delivers [`OutboxAction::SetVendorReference`]: reads the order first and writes
/// `partner_ref` only if it differs, then posts the note with the correlation id once.
pub async fn deliver_vendor_reference(
    odoo: &OdooClient,
    correlation_id: &str,
    order_odoo_id: i64,
    order_name: &str,
    reference: &str,
    user: &str,
) -> Result<Outcome, OdooError> {
    let order = odoo
        .read(PURCHASE_ORDER, &[order_odoo_id], &["state", "partner_ref"])
        .await?;
    let Some(order) = order.first() else {
        return Ok(Outcome::conflict(format!(
            "{order_name} no longer exists in Odoo"
        )));
    };
    if text(order.get("partner_ref")).unwrap_or_default() != reference {
        let value = if reference.is_empty() {
            json!(false)
        } else {
            json!(reference)
        };
        odoo.write(
            PURCHASE_ORDER,
            &[order_odoo_id],
            json!({ "partner_ref": value }),
        )
        .await?;
    }
    let what = if reference.is_empty() {
        "cleared".to_string()
    } else {
        format!("set to {reference}")
    };
    outbox::post_note_once(
        odoo,
        order_odoo_id,
        correlation_id,
        &format!("Vendor reference {what} by {user} in the supplier portal."),
    )
    .await?;
    Ok(Outcome::Delivered)
}

/// An order and where its goods go (none known: no header).
#[derive(sqlx::FromRow)]
struct DestinationRow {
    id: i64,
    name: String,
    #[sqlx(flatten)]
    origin: OriginRow,
}

/// The supplier's orders among `order_ids` grouped by where their goods go (ordering
/// company and ship-to), in the order given. A shipment notice goes to one destination.
pub async fn destination_groups(
    conn: &mut sqlx::AnyConnection,
    supplier_id: i64,
    order_ids: &[i64],
) -> Result<Vec<DestinationGroup>, sqlx::Error> {
    let order_ids = &order_ids[..order_ids.len().min(100)];
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT o.id, o.name, h.company_odoo_id, h.company_name, h.ship_to_key, h.ship_to_name
         FROM purchase_orders o LEFT JOIN order_headers h ON h.order_id = o.id
         WHERE o.supplier_id = $1 AND o.id IN ({})",
        db::placeholders(2, order_ids.len())
    );
    let mut q = sqlx::query_as::<_, DestinationRow>(&sql).bind(supplier_id);
    for id in order_ids {
        q = q.bind(*id);
    }
    let mut rows = q.fetch_all(&mut *conn).await?;
    rows.sort_by_key(|r| order_ids.iter().position(|i| *i == r.id));
    let mut groups: Vec<(Option<i64>, Option<String>, DestinationGroup)> = Vec::new();
    for DestinationRow {
        id,
        name,
        origin:
            OriginRow {
                company_odoo_id: company,
                company_name,
                ship_to_key: key,
                ship_to_name: ship_to,
            },
    } in rows
    {
        match groups.iter_mut().find(|g| g.0 == company && g.1 == key) {
            Some(g) => {
                g.2.order_ids.push(id);
                g.2.order_names.push(name);
            }
            None => {
                let label = match (ship_to, company_name) {
                    (Some(s), Some(c)) if s != c => format!("{s} ({c})"),
                    (Some(s), _) => s,
                    (None, Some(c)) => c,
                    (None, None) => "destination not known".to_string(),
                };
                groups.push((
                    company,
                    key,
                    DestinationGroup {
                        label,
                        order_ids: vec![id],
                        order_names: vec![name],
                    },
                ));
            }
        }
    }
    Ok(groups.into_iter().map(|g| g.2).collect())
}

/// Why lines of these orders cannot go in one shipment notice (they go to different
/// destinations), or None.
pub async fn one_destination_problem(
    conn: &mut sqlx::AnyConnection,
    supplier_id: i64,
    order_ids: &[i64],
) -> Result<Option<String>, sqlx::Error> {
    let groups = destination_groups(conn, supplier_id, order_ids).await?;
    if groups.len() < 2 {
        return Ok(None);
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|g| format!("{} to {}", g.order_names.join(", "), g.label))
        .collect();
    Ok(Some(format!(
        "Destinations: a shipment notice goes to one destination, and these orders go to {}: {}. Send one notice per destination.",
        groups.len(),
        parts.join("; ")
    )))
}

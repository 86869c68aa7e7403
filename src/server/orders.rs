//! The supplier's orders in the portal database: the inbox with its filters, one order in
//! detail, and the supplier's answers (acknowledgment, line answers), each written together
//! with its outbox message in one transaction. Every query is scoped to the user's supplier.

use crate::server::db::Tx;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::domain::order::{
    derive_order_status, Closed, LineAnswerState, LineFacts, OrderFacts, OrderStatus,
};
use crate::domain::outcome::Outcome;
use crate::domain::timeline::EventGroup;
use crate::domain::tolerance::{
    proposed_time, LineAnswer, LineAnswerError, SupplierOverrides, TolerancePolicy, Verdict,
};
use crate::model::exceptions::ReceiptDiscrepancy;
use crate::model::orders::OrderFilter;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::{Code, Flag, Quantity, UtcTime};
use crate::server::db::{self, arg, bind_args, Arg, Db};
use crate::server::idempotency::{IdempotencyError, Submission};
use crate::server::order_events::record_event;
use crate::server::problem::{sentence, Problem};
use crate::server::sync::outbox::{self, OutboxAction};

/// Why a supplier's or buyer's action was refused. `Invalid` carries a sentence; the typed
/// variants say which order, line and rule, and are worded in one place ([`Self::into_problem`]).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// The order takes no answers any more.
    #[error("{}", match why {
        Closed::Cancelled => format!("{order} was cancelled by the buyer; there is nothing to answer."),
        Closed::Received => format!("{order} has been received in full already."),
    })]
    Closed { order: String, why: Closed },
    /// A line's answer could not be read or breaks a rule.
    #[error("{error}")]
    Answer { line_id: i64, error: AnswerError },
    /// The request's idempotency key is malformed, or was used for another request
    /// (never `IdempotencyError::Db`: that is `Db`).
    #[error(transparent)]
    Key(IdempotencyError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ActionError {
    /// The one mapping to what the caller is told; `missing` is what "not found" means here.
    pub fn into_problem(self, missing: &str) -> Problem {
        match self {
            ActionError::NotFound => Problem::not_found(missing),
            ActionError::Db(e) => Problem::internal(e),
            ActionError::Closed { why, .. } => {
                let code = match why {
                    Closed::Cancelled => "order_cancelled",
                    Closed::Received => "order_received",
                };
                Problem::invalid(code, self.to_string())
            }
            ActionError::Answer { ref error, .. } => {
                let p = Problem::invalid(error.code(), self.to_string());
                match error.field() {
                    Some(f) => p.at_field(f),
                    None => p,
                }
            }
            ActionError::Key(ref e) => Problem::invalid(
                match e {
                    IdempotencyError::KeyReused => "idempotency_key_reused",
                    _ => "idempotency_key_malformed",
                },
                self.to_string(),
            ),
            ActionError::Invalid(m) => Problem::invalid("invalid", m),
        }
    }
}

/// Why one line's answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("Unknown answer “{0}”: accept, propose or reject.")]
    UnknownAnswer(String),
    #[error("“{0}” is not a date: use YYYY-MM-DD.")]
    NotADate(String),
    #[error("“{0}” is not a quantity.")]
    NotAQuantity(String),
    #[error("{}", sentence(&.0.to_string()))]
    Rule(LineAnswerError),
    #[error("This line was removed by the buyer.")]
    LineRemoved,
    #[error("Your previous answer on this line is waiting for the buyer.")]
    WaitingForBuyer,
}

impl AnswerError {
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::UnknownAnswer(_) => "answer_unknown",
            AnswerError::NotADate(_) => "answer_not_a_date",
            AnswerError::NotAQuantity(_) => "answer_not_a_quantity",
            AnswerError::Rule(LineAnswerError::NothingProposed) => "answer_nothing_proposed",
            AnswerError::Rule(LineAnswerError::QuantityNotPositive) => {
                "answer_quantity_not_positive"
            }
            AnswerError::Rule(LineAnswerError::DateInPast { .. }) => "answer_date_in_past",
            AnswerError::Rule(LineAnswerError::ReasonMissing) => "answer_reason_missing",
            AnswerError::Rule(LineAnswerError::ReasonTooLong { .. }) => "answer_reason_too_long",
            AnswerError::LineRemoved => "line_removed",
            AnswerError::WaitingForBuyer => "answer_waiting_for_buyer",
        }
    }

    /// The answer form's field at fault.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AnswerError::UnknownAnswer(_) => Some("answer"),
            AnswerError::NotADate(_) | AnswerError::Rule(LineAnswerError::DateInPast { .. }) => {
                Some("proposed_date")
            }
            AnswerError::NotAQuantity(_)
            | AnswerError::Rule(LineAnswerError::QuantityNotPositive) => Some("proposed_quantity"),
            AnswerError::Rule(
                LineAnswerError::ReasonMissing | LineAnswerError::ReasonTooLong { .. },
            ) => Some("reason"),
            AnswerError::Rule(LineAnswerError::NothingProposed)
            | AnswerError::LineRemoved
            | AnswerError::WaitingForBuyer => None,
        }
    }
}

impl From<IdempotencyError> for ActionError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::Db(e) => ActionError::Db(e),
            other => ActionError::Key(other),
        }
    }
}

/// Orders on one page of the inbox.
pub const PAGE_SIZE: i64 = 25;

/// One order in the inbox. Times are UTC.
#[derive(Clone, Debug, PartialEq)]
pub struct InboxEntry {
    pub id: i64,
    pub name: String,
    pub status: OrderStatus,
    pub supplier_name: String,
    pub date_order: Option<NaiveDateTime>,
    /// The earliest requested date among the order's lines.
    pub next_due: Option<NaiveDateTime>,
    pub amount_total: Decimal,
    pub currency: String,
    pub line_count: i64,
    pub company_name: Option<String>,
    pub ship_to_name: Option<String>,
}

/// One page of the inbox, and the counts per status over all of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Inbox {
    pub orders: Vec<InboxEntry>,
    pub total: i64,
    pub page: i64,
    pub page_count: i64,
    pub counts: Vec<(OrderStatus, i64)>,
    pub needs_action: i64,
}

/// One order in detail, as stored. Times are UTC.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub id: i64,
    pub name: String,
    pub status: OrderStatus,
    pub supplier_name: String,
    pub buyer_name: String,
    pub date_order: Option<NaiveDateTime>,
    pub currency: String,
    pub amount_total: Decimal,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
    pub change_summary: Option<String>,
    pub lines: Vec<OrderLine>,
    /// Newest first; for a supplier, only its part of the timeline.
    pub events: Vec<OrderEvent>,
    pub deliveries: Vec<Delivery>,
    pub receipts: Vec<Receipt>,
    pub discrepancies: Vec<ReceiptDiscrepancy>,
    /// The supplier's tolerance policy (its own settings over the global defaults).
    pub policy: TolerancePolicy,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderLine {
    pub id: i64,
    pub product_code: String,
    pub description: String,
    pub vendor_code: String,
    pub vendor_name: String,
    pub quantity: Decimal,
    pub uom: String,
    pub price_unit: Decimal,
    pub date_planned: Option<NaiveDateTime>,
    pub qty_received: Decimal,
    pub answer: Option<LineAnswerState>,
    pub proposed_date: Option<NaiveDateTime>,
    pub proposed_quantity: Option<Decimal>,
    pub reason: Option<String>,
    /// Why the buyer turned the proposal down.
    pub buyer_reason: Option<String>,
    pub removed_in_odoo: bool,
}

impl OrderLine {
    /// Ordered and not received yet (never below zero).
    pub fn open_quantity(&self) -> Decimal {
        (self.quantity - self.qty_received).max(Decimal::ZERO)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderEvent {
    pub at: NaiveDateTime,
    pub actor: Option<String>,
    pub kind: String,
    pub group: EventGroup,
    pub detail: String,
    pub correlation_id: Option<String>,
}

/// One write-back to Odoo.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub correlation_id: String,
    pub kind: String,
    /// pending, delivered, dead, discarded, conflict
    pub status: String,
    pub attempts: i64,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// One of Odoo's incoming receipts for the order.
#[derive(Clone, Debug, PartialEq)]
pub struct Receipt {
    pub name: String,
    /// Odoo's picking state: draft, waiting, confirmed, assigned, done, cancel
    pub state: String,
    pub scheduled_date: Option<NaiveDateTime>,
    pub date_done: Option<NaiveDateTime>,
    pub carrier_tracking_ref: String,
}

/// The orders `line_ids` belong to, each once: read before a writing transaction to key it
/// by them (a line never moves to another order, so the keys stay right until commit).
pub async fn orders_of_lines(db: &Db, line_ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    orders_of_lines_by(db, "id", line_ids).await
}

/// [`orders_of_lines`] for lines given by their Odoo ids (one not stored yet has none).
pub async fn orders_of_odoo_lines(db: &Db, odoo_ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    orders_of_lines_by(db, "odoo_id", odoo_ids).await
}

async fn orders_of_lines_by(
    db: &Db,
    column: &'static str,
    line_ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut orders = Vec::new();
    for ids in line_ids.chunks(500) {
        let sql = format!(
            "SELECT DISTINCT order_id FROM purchase_order_lines WHERE {column} IN ({})",
            db::placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as::<_, (i64,)>(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        orders.extend(query.fetch_all(db).await?.into_iter().map(|(o,)| o));
    }
    orders.sort_unstable();
    orders.dedup();
    Ok(orders)
}

/// Derives and stores the order's status from what the database holds.
pub async fn recompute_status(tx: &mut Tx<'_>, order_id: i64) -> Result<OrderStatus, sqlx::Error> {
    let status = derived_status(tx, order_id).await?;
    sqlx::query("UPDATE purchase_orders SET status = $1 WHERE id = $2")
        .bind(status.code())
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    Ok(status)
}

/// The order's status as what `tx` holds makes it.
async fn derived_status(tx: &mut Tx<'_>, order_id: i64) -> Result<OrderStatus, sqlx::Error> {
    let (odoo_state, acknowledged_at, change): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT odoo_state, acknowledged_at, odoo_change_summary FROM purchase_orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
    let lines: Vec<(i64, Quantity, Quantity, Option<Code<LineAnswerState>>)> =
        sqlx::query_as("SELECT id, quantity, qty_received, answer FROM purchase_order_lines WHERE order_id = $1 AND removed_in_odoo = FALSE")
            .bind(order_id)
            .fetch_all(&mut **tx)
            .await?;
    let shipped = shipped_by_line(tx, order_id).await?;
    let facts = OrderFacts {
        cancelled_in_odoo: odoo_state == "cancel",
        changed_in_odoo: change.is_some(),
        acknowledged: acknowledged_at.is_some(),
        lines: lines
            .into_iter()
            .map(|(id, q, r, a)| LineFacts {
                ordered: q.get(),
                received: r.get(),
                shipped: shipped.get(&id).copied().unwrap_or_default(),
                answer: a.map(|a| a.0),
            })
            .collect(),
    };
    Ok(derive_order_status(&facts))
}

/// Quantity announced on shipment notices not cancelled, per line of the order.
pub async fn shipped_by_line(
    tx: &mut Tx<'_>,
    order_id: i64,
) -> Result<std::collections::HashMap<i64, Decimal>, sqlx::Error> {
    let rows: Vec<(i64, Quantity)> = sqlx::query_as(
        "SELECT sl.line_id, sl.quantity FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
         JOIN purchase_order_lines l ON l.id = sl.line_id WHERE l.order_id = $1 AND n.status <> 'cancelled'",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut shipped = std::collections::HashMap::new();
    for (line, q) in rows {
        *shipped.entry(line).or_insert(Decimal::ZERO) += q.get();
    }
    Ok(shipped)
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    name: String,
    status: Code<OrderStatus>,
    supplier_name: String,
    date_order: Option<String>,
    next_due: Option<String>,
    amount_total: String,
    currency: String,
    line_count: i64,
    company_name: Option<String>,
    ship_to_name: Option<String>,
}

/// A LIKE pattern for "contains `q`", case-folded, its wildcards taken literally (the
/// query says `ESCAPE` with a single backslash).
pub(crate) fn like(q: &str) -> String {
    format!(
        "%{}%",
        q.trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Visible orders per status from `order_status_counts` (kept by triggers on
/// `purchase_orders`, migration 0040): one supplier's, or (`None`) every supplier's summed.
/// Statuses without orders are left out, as a `GROUP BY` over the orders leaves them out.
pub async fn kept_counts(
    db: &Db,
    supplier: Option<i64>,
) -> Result<Vec<(OrderStatus, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> = match supplier {
        Some(supplier) => {
            sqlx::query_as("SELECT status, orders FROM order_status_counts WHERE supplier_id = $1")
                .bind(supplier)
                .fetch_all(db)
                .await?
        }
        None => {
            sqlx::query_as("SELECT status, orders FROM order_status_counts")
                .fetch_all(db)
                .await?
        }
    };
    let mut counts: Vec<(OrderStatus, i64)> = Vec::new();
    for (code, n) in rows {
        let Some(status) = OrderStatus::from_code(&code) else {
            continue;
        };
        match counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, total)) => *total += n,
            None => counts.push((status, n)),
        }
    }
    counts.retain(|(_, n)| *n > 0);
    Ok(counts)
}

pub async fn list(db: &Db, user: &CurrentUser, filter: &OrderFilter) -> Result<Inbox, sqlx::Error> {
    let scope = user.supplier_id;
    let q = filter.q.trim();
    let due = NaiveDate::parse_from_str(filter.due_before.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| format!("{d} 23:59:59"));
    let statuses: Vec<String> = match filter.status.as_str() {
        "action" => OrderStatus::ALL
            .iter()
            .filter(|s| s.needs_supplier_action())
            .map(|s| s.code().to_string())
            .collect(),
        s if OrderStatus::from_code(s).is_some() => vec![s.to_string()],
        _ => vec![],
    };
    // Only the conditions in force go into the SQL, so the planner sees plain predicates
    // (and uses the inbox index for `supplier_id = $1`) rather than `$1 IS NULL OR ...`.
    let mut args = Vec::new();
    let mut clauses = vec!["o.visible = TRUE".to_string()];
    if let Some(supplier) = scope {
        clauses.push(format!(
            "o.supplier_id = {}",
            arg(&mut args, Arg::Int(supplier))
        ));
    }
    clauses.extend(user.companies.predicate("o.id"));
    if !q.is_empty() {
        let p = arg(&mut args, Arg::Text(like(q)));
        clauses.push(format!(
            "(LOWER(o.name) LIKE {p} ESCAPE '\\' OR EXISTS (
                SELECT 1 FROM purchase_order_lines l LEFT JOIN vendor_products vp
                  ON vp.product_odoo_id = l.product_odoo_id AND vp.odoo_partner_id = s.odoo_partner_id
                WHERE l.order_id = o.id AND (LOWER(l.description) LIKE {p} ESCAPE '\\' OR LOWER(l.product_code) LIKE {p} ESCAPE '\\'
                    OR LOWER(vp.vendor_code) LIKE {p} ESCAPE '\\' OR LOWER(vp.vendor_name) LIKE {p} ESCAPE '\\')))"
        ));
    }
    if let Some(due) = &due {
        let p = arg(&mut args, Arg::Text(due.clone()));
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM purchase_order_lines l2 WHERE l2.order_id = o.id AND l2.removed_in_odoo = FALSE AND l2.date_planned <= {p})"
        ));
    }
    crate::server::order_document::origin_clauses(filter, &mut args, &mut clauses);
    if !statuses.is_empty() {
        let list: Vec<String> = statuses
            .iter()
            .map(|st| arg(&mut args, Arg::Text(st.clone())))
            .collect();
        clauses.push(format!("o.status IN ({})", list.join(", ")));
    }
    let filter_sql = clauses.join(" AND ");
    // The unfiltered inbox (filtered by status at most) reads its counts from the table the
    // triggers keep (migration 0040); anything narrower is counted live.
    let narrowed = !q.is_empty()
        || due.is_some()
        || !filter.company.trim().is_empty()
        || !filter.plant.trim().is_empty()
        || user.companies.is_limited();
    let mut counts: Vec<(OrderStatus, i64)> = if narrowed {
        let rows: Vec<(String, i64)> = match scope {
            Some(supplier) => sqlx::query_as(
                "SELECT status, COUNT(*) FROM purchase_orders WHERE supplier_id = $1 AND visible = TRUE GROUP BY status",
            )
            .bind(supplier)
            .fetch_all(db)
            .await?,
            None => sqlx::query_as(&format!(
                "SELECT status, COUNT(*) FROM purchase_orders WHERE visible = TRUE{} GROUP BY status",
                user.companies.condition("id")
            ))
            .fetch_all(db)
            .await?,
        };
        rows.into_iter()
            .filter_map(|(s, n)| Some((OrderStatus::from_code(&s)?, n)))
            .collect()
    } else {
        kept_counts(db, scope).await?
    };
    counts.sort_by_key(|(s, _)| s.code());
    let total = if narrowed {
        let count_sql = format!(
            "SELECT COUNT(*) FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id WHERE {filter_sql}"
        );
        let (total,): (i64,) = bind_args(sqlx::query_as(&count_sql), &args)
            .fetch_one(db)
            .await?;
        total
    } else {
        counts
            .iter()
            .filter(|(s, _)| statuses.is_empty() || statuses.iter().any(|c| c == s.code()))
            .map(|(_, n)| n)
            .sum()
    };
    let page_count = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = filter.page.clamp(1, page_count);
    // The page's ids first; the per-order aggregates only for those.
    let rows_sql = format!(
        "SELECT o.id, o.name, o.status, s.name AS supplier_name, o.date_order,
                (SELECT MIN(l.date_planned) FROM purchase_order_lines l WHERE l.order_id = o.id AND l.removed_in_odoo = FALSE) AS next_due,
                o.amount_total, o.currency,
                (SELECT COUNT(*) FROM purchase_order_lines l WHERE l.order_id = o.id AND l.removed_in_odoo = FALSE) AS line_count,
                h.company_name, h.ship_to_name
         FROM (SELECT o.id FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
               WHERE {filter_sql} ORDER BY o.date_order DESC, o.id DESC LIMIT ${} OFFSET ${}) page
         JOIN purchase_orders o ON o.id = page.id JOIN suppliers s ON s.id = o.supplier_id
         LEFT JOIN order_headers h ON h.order_id = o.id
         ORDER BY o.date_order DESC, o.id DESC",
        args.len() + 1,
        args.len() + 2
    );
    let rows: Vec<SummaryRow> = bind_args(sqlx::query_as(&rows_sql), &args)
        .bind(PAGE_SIZE)
        .bind((page - 1) * PAGE_SIZE)
        .fetch_all(db)
        .await?;
    let needs_action = counts
        .iter()
        .filter(|(s, _)| s.needs_supplier_action())
        .map(|(_, n)| n)
        .sum();
    let orders = rows
        .into_iter()
        .map(|r| {
            Ok(InboxEntry {
                id: r.id,
                name: r.name,
                status: r.status.0,
                supplier_name: r.supplier_name,
                date_order: db::opt_utc_time(r.date_order)?,
                next_due: db::opt_utc_time(r.next_due)?,
                amount_total: db::decimal(&r.amount_total)?,
                currency: r.currency,
                line_count: r.line_count,
                company_name: r.company_name,
                ship_to_name: r.ship_to_name,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Inbox {
        orders,
        total,
        page,
        page_count,
        counts,
        needs_action,
    })
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    odoo_id: i64,
    name: String,
    status: Code<OrderStatus>,
    supplier_name: String,
    buyer_name: String,
    date_order: Option<String>,
    currency: String,
    amount_total: String,
    acknowledged_at: Option<String>,
    acknowledged_by: Option<String>,
    odoo_change_summary: Option<String>,
    date_tolerance_days: Option<i64>,
    quantity_tolerance_percent: Option<String>,
}

/// The columns of an [`OrderRow`] and their joins.
const ORDER_ROW: &str = "SELECT o.id, o.odoo_id, o.name, o.status, s.name AS supplier_name, o.buyer_name, o.date_order, o.currency, o.amount_total,
                o.acknowledged_at, u.display_name AS acknowledged_by, o.odoo_change_summary, s.date_tolerance_days, s.quantity_tolerance_percent
         FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id LEFT JOIN users u ON u.id = o.acknowledged_by";

async fn order_row<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    user: &CurrentUser,
    id: i64,
) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ORDER_ROW} WHERE o.id = $1 AND o.visible = TRUE AND ($2 IS NULL OR o.supplier_id = $2){}",
        user.companies.condition("o.id")
    ))
    .bind(id)
    .bind(user.supplier_id)
    .fetch_optional(db)
    .await
}

fn policy_for(row: &OrderRow, default: TolerancePolicy) -> Result<TolerancePolicy, sqlx::Error> {
    let overrides = SupplierOverrides {
        date_tolerance_days: row.date_tolerance_days,
        quantity_tolerance_percent: db::opt_decimal(row.quantity_tolerance_percent.clone())?,
        ..Default::default()
    };
    Ok(overrides.tolerance(default))
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    odoo_id: i64,
    product_code: String,
    description: String,
    vendor_code: Option<String>,
    vendor_name: Option<String>,
    quantity: String,
    uom: String,
    price_unit: String,
    date_planned: Option<String>,
    qty_received: String,
    answer: Option<String>,
    proposed_date: Option<String>,
    proposed_quantity: Option<String>,
    answer_reason: Option<String>,
    buyer_reason: Option<String>,
    #[sqlx(try_from = "Flag")]
    removed_in_odoo: bool,
}

async fn line_rows<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    order_id: i64,
) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.id, l.odoo_id, l.product_code, l.description, vp.vendor_code, vp.vendor_name, l.quantity, l.uom, l.price_unit, l.date_planned,
                l.qty_received, l.answer, l.proposed_date, l.proposed_quantity, l.answer_reason, l.buyer_reason, l.removed_in_odoo
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id JOIN suppliers s ON s.id = o.supplier_id
         LEFT JOIN vendor_products vp ON vp.product_odoo_id = l.product_odoo_id AND vp.odoo_partner_id = s.odoo_partner_id
         WHERE l.order_id = $1 ORDER BY l.removed_in_odoo, l.sequence, l.id",
    )
    .bind(order_id)
    .fetch_all(db)
    .await
}

/// An event on an order's timeline, with who acted and whether they are staff.
#[derive(sqlx::FromRow)]
struct EventRow {
    at: UtcTime,
    actor: Option<String>,
    kind: String,
    detail: String,
    correlation_id: Option<String>,
    #[sqlx(try_from = "Flag")]
    by_staff: bool,
}

/// A write-back of an order to Odoo and how its delivery went.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    correlation_id: String,
    kind: String,
    status: String,
    attempts: i64,
    created_at: UtcTime,
    delivered_at: Option<UtcTime>,
}

/// A receipt of an order's goods in Odoo.
#[derive(sqlx::FromRow)]
struct ReceiptRow {
    name: String,
    state: String,
    scheduled_date: Option<UtcTime>,
    date_done: Option<UtcTime>,
    carrier_tracking_ref: String,
}

pub async fn detail(
    db: &Db,
    user: &CurrentUser,
    id: i64,
    default_policy: TolerancePolicy,
) -> Result<Option<Order>, sqlx::Error> {
    let Some(o) = order_row(db, user, id).await? else {
        return Ok(None);
    };
    let policy = policy_for(&o, default_policy)?;
    let lines = line_rows(db, id).await?;
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT e.at, u.display_name AS actor, e.kind, e.detail, e.correlation_id,
                CASE WHEN u.id IS NOT NULL AND u.supplier_id IS NULL THEN 1 ELSE 0 END AS by_staff
         FROM order_events e LEFT JOIN users u ON u.id = e.actor_user_id
         WHERE e.order_id = $1 ORDER BY e.id DESC",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    // A supplier sees its part of the timeline.
    let events = events.into_iter().filter(|e| {
        user.is_internal() || crate::domain::timeline::visible_to_supplier(&e.kind, e.by_staff)
    });
    let deliveries: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT correlation_id, kind, status, attempts, created_at, delivered_at FROM outbox_messages WHERE order_odoo_id = $1 ORDER BY id DESC",
    )
    .bind(o.odoo_id)
    .fetch_all(db)
    .await?;
    let receipts: Vec<ReceiptRow> = sqlx::query_as(
        "SELECT name, state, scheduled_date, date_done, carrier_tracking_ref FROM receipts WHERE order_id = $1 ORDER BY odoo_id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let discrepancies = crate::server::discrepancies::find(
        db,
        &crate::server::discrepancies::Filter {
            order: Some(o.id),
            ..Default::default()
        },
    )
    .await?;
    let lines = lines
        .into_iter()
        .map(line_of)
        .collect::<Result<_, sqlx::Error>>()?;
    let receipts = receipts
        .into_iter()
        .map(|r| Receipt {
            name: r.name,
            state: r.state,
            scheduled_date: r.scheduled_date.map(UtcTime::get),
            date_done: r.date_done.map(UtcTime::get),
            carrier_tracking_ref: r.carrier_tracking_ref,
        })
        .collect();
    let events = events
        .map(|e| OrderEvent {
            at: e.at.get(),
            actor: e.actor,
            group: EventGroup::of(&e.kind),
            kind: e.kind,
            detail: e.detail,
            correlation_id: e.correlation_id,
        })
        .collect();
    let deliveries = deliveries
        .into_iter()
        .map(|d| Delivery {
            correlation_id: d.correlation_id,
            kind: d.kind,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at.get(),
            delivered_at: d.delivered_at.map(UtcTime::get),
        })
        .collect();
    Ok(Some(Order {
        id: o.id,
        name: o.name,
        status: o.status.0,
        supplier_name: o.supplier_name,
        buyer_name: o.buyer_name,
        date_order: db::opt_utc_time(o.date_order)?,
        currency: o.currency,
        amount_total: db::decimal(&o.amount_total)?,
        acknowledged_at: db::opt_utc_time(o.acknowledged_at)?,
        acknowledged_by: o.acknowledged_by,
        change_summary: o.odoo_change_summary,
        lines,
        events,
        deliveries,
        receipts,
        discrepancies,
        policy,
    }))
}

fn line_of(l: LineRow) -> Result<OrderLine, sqlx::Error> {
    Ok(OrderLine {
        id: l.id,
        product_code: l.product_code,
        description: l.description,
        vendor_code: l.vendor_code.unwrap_or_default(),
        vendor_name: l.vendor_name.unwrap_or_default(),
        quantity: db::decimal(&l.quantity)?,
        uom: l.uom,
        price_unit: db::decimal(&l.price_unit)?,
        date_planned: db::opt_utc_time(l.date_planned)?,
        qty_received: db::decimal(&l.qty_received)?,
        answer: l.answer.as_deref().and_then(LineAnswerState::from_code),
        proposed_date: db::opt_utc_time(l.proposed_date)?,
        proposed_quantity: db::opt_decimal(l.proposed_quantity)?,
        reason: l.answer_reason,
        buyer_reason: l.buyer_reason,
        removed_in_odoo: l.removed_in_odoo,
    })
}

/// The order as its supplier sees it right now, inside `tx` (header and lines, no history;
/// also when no longer released): what an event about it carries. Its status is derived
/// from what `tx` holds, so it is right also before [`recompute_status`] stored it.
pub async fn snapshot(tx: &mut Tx<'_>, id: i64) -> Result<Option<Order>, sqlx::Error> {
    let row: Option<OrderRow> = sqlx::query_as(&format!("{ORDER_ROW} WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(o) = row else {
        return Ok(None);
    };
    let lines = line_rows(&mut **tx, id)
        .await?
        .into_iter()
        .map(line_of)
        .collect::<Result<_, sqlx::Error>>()?;
    let status = derived_status(tx, id).await?;
    Ok(Some(Order {
        id: o.id,
        name: o.name,
        status,
        supplier_name: o.supplier_name,
        buyer_name: o.buyer_name,
        date_order: db::opt_utc_time(o.date_order)?,
        currency: o.currency,
        amount_total: db::decimal(&o.amount_total)?,
        acknowledged_at: db::opt_utc_time(o.acknowledged_at)?,
        acknowledged_by: o.acknowledged_by,
        change_summary: o.odoo_change_summary,
        lines,
        events: Vec::new(),
        deliveries: Vec::new(),
        receipts: Vec::new(),
        discrepancies: Vec::new(),
        policy: TolerancePolicy::default(),
    }))
}

fn answerable(o: &OrderRow) -> Result<(), ActionError> {
    o.status
        .0
        .answerable()
        .map_err(|why| ActionError::Closed {
            order: o.name.clone(),
            why,
        })
}

/// Acknowledges the whole order: lines not yet answered count as accepted. Decided inside
/// the writing transaction: of concurrent acknowledgments exactly one acts; the others find
/// the order acknowledged (or, with the same `key`, the first one's answer).
pub async fn acknowledge(
    db: &Db,
    user: &CurrentUser,
    order_id: i64,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    if user.supplier_id.is_none() {
        return Err(ActionError::Invalid(
            "Only the supplier acknowledges its orders.".into(),
        ));
    }
    let submission = Submission::new(user.id, key, "acknowledge", &order_id)?;
    let mut tx = db::write_keyed(
        db,
        &submission.lock_keys(vec![db::LockKey::order(order_id)]),
    )
    .await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let o = order_row(&mut *tx, user, order_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    answerable(&o)?;
    if o.acknowledged_at.is_some() && o.odoo_change_summary.is_none() {
        return Ok(Outcome::already(format!(
            "{} is acknowledged already.",
            o.name
        )));
    }
    let now = db::now();
    let correlation_id = outbox::new_correlation_id();
    sqlx::query("UPDATE purchase_order_lines SET answer = 'accepted', answered_at = $1 WHERE order_id = $2 AND answer IS NULL AND removed_in_odoo = FALSE")
        .bind(&now)
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    mark_acknowledged(
        &mut tx,
        &o,
        user,
        &now,
        &correlation_id,
        "acknowledged the order",
    )
    .await?;
    recompute_status(&mut tx, order_id).await?;
    let outcome = Outcome::done(format!("{} acknowledged.", o.name));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    tracing::info!(po = %o.name, user = user.id, correlation_id, "acknowledged");
    Ok(outcome)
}

/// Notes the first time each supplier user opens an order, for the order's history.
/// Looks before it writes: every later view is a read, not a write that waits for the
/// database's one writer (on SQLite, with the busy handler's sleeps).
pub async fn record_view(db: &Db, user: &CurrentUser, order_id: i64) -> Result<(), sqlx::Error> {
    let seen: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM order_events WHERE order_id = $1 AND actor_user_id = $2 AND kind = 'viewed' LIMIT 1",
    )
    .bind(order_id)
    .bind(user.id)
    .fetch_optional(db)
    .await?;
    if seen.is_some() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO order_events (order_id, at, actor_user_id, kind, detail)
         SELECT $1, $2, $3, 'viewed', 'opened the order'
         WHERE NOT EXISTS (SELECT 1 FROM order_events WHERE order_id = $1 AND actor_user_id = $3 AND kind = 'viewed')",
    )
    .bind(order_id)
    .bind(db::now())
    .bind(user.id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records the acknowledgment (clearing any "changed by buyer" flag: the supplier has seen
/// it), queues it for Odoo and writes the event, in the caller's transaction.
async fn mark_acknowledged(
    tx: &mut Tx<'_>,
    o: &OrderRow,
    user: &CurrentUser,
    now: &str,
    correlation_id: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE purchase_orders SET acknowledged_at = $1, acknowledged_by = $2, odoo_change_summary = NULL WHERE id = $3")
        .bind(now)
        .bind(user.id)
        .bind(o.id)
        .execute(&mut **tx)
        .await?;
    let action = OutboxAction::Acknowledge {
        order_odoo_id: o.odoo_id,
        order_name: o.name.clone(),
        user: format!("{} <{}>", user.display_name, user.email),
        at: now.to_string(),
    };
    outbox::enqueue(tx, correlation_id, &action).await?;
    record_event(
        tx,
        o.id,
        Some(user.id),
        "acknowledged",
        detail,
        Some(correlation_id),
    )
    .await
}

/// What the supplier typed in a line's answer form.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct AnswerInput {
    pub answer: String,
    pub proposed_date: String,
    pub proposed_quantity: String,
    pub reason: String,
}

/// Records the supplier's answer on one line. Decided inside the writing transaction: an
/// answer identical to the one recorded changes nothing and says so.
pub async fn answer_line(
    db: &Db,
    user: &CurrentUser,
    order_id: i64,
    line_id: i64,
    input: &AnswerInput,
    default_policy: &TolerancePolicy,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    if user.supplier_id.is_none() {
        return Err(ActionError::Invalid(
            "Only the supplier answers its order lines.".into(),
        ));
    }
    let submission = Submission::new(user.id, key, "answer_line", &(order_id, line_id, input))?;
    let mut tx = db::write_keyed(
        db,
        &submission.lock_keys(vec![db::LockKey::order(order_id)]),
    )
    .await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let o = order_row(&mut *tx, user, order_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    answerable(&o)?;
    let line = line_rows(&mut *tx, order_id)
        .await?
        .into_iter()
        .find(|l| l.id == line_id)
        .ok_or(ActionError::NotFound)?;
    if line.removed_in_odoo {
        return Err(ActionError::Answer {
            line_id,
            error: AnswerError::LineRemoved,
        });
    }
    // Compared with what was typed, not judged again: once a proposal reached Odoo the
    // line's date is the proposed one, and the same proposal would no longer be a change.
    if same_as_recorded(&line, input) {
        return Ok(Outcome::already(format!(
            "This answer on “{}” is recorded already; nothing was sent again.",
            line.description
        )));
    }
    if matches!(
        line.answer.as_deref(),
        Some("proposal_pending" | "rejected")
    ) {
        return Err(ActionError::Answer {
            line_id,
            error: AnswerError::WaitingForBuyer,
        });
    }
    let ordered = db::decimal(&line.quantity)?;
    let refused = |error| ActionError::Answer { line_id, error };
    let requested_at = db::opt_utc_time(line.date_planned.clone())?;
    let requested = requested_at.map(|t| t.date());
    let today = chrono::Utc::now().date_naive();
    let answer = match input.answer.as_str() {
        "accept" => LineAnswer::Accept,
        "reject" => LineAnswer::reject(&input.reason).map_err(|e| refused(AnswerError::Rule(e)))?,
        "propose" => {
            let date = match input.proposed_date.trim() {
                "" => None,
                d => Some(
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| refused(AnswerError::NotADate(d.to_string())))?,
                ),
            };
            let quantity = match input.proposed_quantity.trim() {
                "" => None,
                q => Some(
                    q.parse::<Decimal>()
                        .map_err(|_| refused(AnswerError::NotAQuantity(q.to_string())))?,
                ),
            };
            let current_date = requested.unwrap_or(today);
            LineAnswer::propose(date, quantity, &input.reason, current_date, ordered, today)
                .map_err(|e| refused(AnswerError::Rule(e)))?
        }
        other => return Err(refused(AnswerError::UnknownAnswer(other.to_string()))),
    };
    let policy = policy_for(&o, *default_policy)?;
    let who = format!("{} <{}>", user.display_name, user.email);
    let now = db::now();
    let (state, event, action): (LineAnswerState, String, Option<OutboxAction>) = match &answer {
        LineAnswer::Accept => (
            LineAnswerState::Accepted,
            format!("accepted “{}” as ordered", line.description),
            None,
        ),
        LineAnswer::Reject { reason } => (
            LineAnswerState::Rejected,
            format!("rejected “{}”: {reason}", line.description),
            Some(OutboxAction::Note {
                order_odoo_id: o.odoo_id,
                text: format!(
                    "{who} cannot deliver “{}”: {reason}. Waiting for a buyer's decision.",
                    line.description
                ),
            }),
        ),
        LineAnswer::Propose {
            date,
            quantity,
            reason,
        } => {
            let verdict = policy.judge(requested.unwrap_or(today), ordered, *date, *quantity);
            let what = describe_proposal(*date, *quantity, &line.uom);
            match verdict {
                Verdict::AcceptedAutomatically => {
                    let new_date = date.map(|d| proposed_time(d, requested_at).format(db::TIME_FORMAT).to_string());
                    let action = Some(OutboxAction::UpdateLine {
                        order_odoo_id: o.odoo_id,
                        line_odoo_id: line.odoo_id,
                        date_planned: new_date,
                        product_qty: quantity.map(|q| q.normalize()),
                        seen_date: line.date_planned.clone(),
                        seen_quantity: ordered.normalize(),
                        user: who.clone(),
                        reason: format!("{reason} (within tolerance)"),
                    });
                    (LineAnswerState::ProposalAccepted, format!("proposed {what} for “{}”: accepted within tolerance", line.description), action)
                }
                Verdict::NeedsBuyer { reasons } => (
                    LineAnswerState::ProposalPending,
                    format!("proposed {what} for “{}”: waits for the buyer ({})", line.description, reasons.join("; ")),
                    Some(OutboxAction::Note { order_odoo_id: o.odoo_id, text: format!("{who} proposes {what} for “{}”: {reason}. Outside tolerance ({}); waiting for a buyer's decision.", line.description, reasons.join("; ")) }),
                ),
            }
        }
    };
    let (proposed_date, proposed_quantity, reason) = match &answer {
        LineAnswer::Propose {
            date,
            quantity,
            reason,
        } => (
            date.map(|d| {
                proposed_time(d, requested_at)
                    .format(db::TIME_FORMAT)
                    .to_string()
            }),
            quantity.map(|q| q.normalize().to_string()),
            Some(reason.clone()),
        ),
        LineAnswer::Reject { reason } => (None, None, Some(reason.clone())),
        LineAnswer::Accept => (None, None, None),
    };
    sqlx::query("UPDATE purchase_order_lines SET answer = $1, proposed_date = $2, proposed_quantity = $3, answer_reason = $4, answered_at = $5 WHERE id = $6")
        .bind(state.code())
        .bind(proposed_date)
        .bind(proposed_quantity)
        .bind(reason)
        .bind(&now)
        .bind(line_id)
        .execute(&mut *tx)
        .await?;
    let correlation_id = outbox::new_correlation_id();
    if let Some(action) = &action {
        outbox::enqueue(&mut tx, &correlation_id, action).await?;
    }
    record_event(
        &mut tx,
        order_id,
        Some(user.id),
        "line_answered",
        &event,
        action.as_ref().map(|_| correlation_id.as_str()),
    )
    .await?;
    // Every line answered: that is an acknowledgment of the order too.
    let (unanswered,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM purchase_order_lines WHERE order_id = $1 AND answer IS NULL AND removed_in_odoo = FALSE")
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
    if unanswered == 0 && o.acknowledged_at.is_none() {
        let ack_id = outbox::new_correlation_id();
        mark_acknowledged(
            &mut tx,
            &o,
            user,
            &now,
            &ack_id,
            "every line answered: order acknowledged",
        )
        .await?;
    }
    recompute_status(&mut tx, order_id).await?;
    let outcome = Outcome::done(format!(
        "Your answer on “{}” is recorded.",
        line.description
    ));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Is `input` the answer the line holds already?
fn same_as_recorded(line: &LineRow, input: &AnswerInput) -> bool {
    let reason = input.reason.trim();
    let same_reason = line.answer_reason.as_deref() == Some(reason);
    match (input.answer.as_str(), line.answer.as_deref()) {
        ("accept", Some("accepted")) => true,
        ("reject", Some("rejected")) => same_reason,
        ("propose", Some("proposal_pending" | "proposal_accepted")) => {
            let date = Some(input.proposed_date.trim()).filter(|d| !d.is_empty());
            let recorded_date = line.proposed_date.as_deref().and_then(|d| d.get(..10));
            let quantity = match input.proposed_quantity.trim() {
                "" => None,
                q => match q.parse::<Decimal>() {
                    Ok(q) => Some(q.normalize().to_string()),
                    Err(_) => return false,
                },
            };
            same_reason && date == recorded_date && quantity == line.proposed_quantity
        }
        _ => false,
    }
}

fn describe_proposal(date: Option<NaiveDate>, quantity: Option<Decimal>, uom: &str) -> String {
    match (date, quantity) {
        (Some(d), Some(q)) => format!("date {d} and quantity {} {uom}", q.normalize()),
        (Some(d), None) => format!("date {d}"),
        (None, Some(q)) => format!("quantity {} {uom}", q.normalize()),
        (None, None) => "no change".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn a_refused_answer_names_its_rule_and_field_with_the_sentence_the_page_shows() {
        let check = |e: ActionError, code: &str, field: Option<&str>, detail: &str| {
            let p = e.into_problem("No such order line among yours.");
            assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!((p.code, p.field.as_deref()), (code, field));
            assert_eq!(p.detail, detail);
        };
        let answer = |error| ActionError::Answer { line_id: 7, error };
        check(
            answer(AnswerError::Rule(LineAnswerError::DateInPast {
                date: NaiveDate::from_ymd_opt(2020, 1, 2).unwrap(),
            })),
            "answer_date_in_past",
            Some("proposed_date"),
            "The proposed date 2020-01-02 is in the past.",
        );
        check(
            answer(AnswerError::Rule(LineAnswerError::ReasonMissing)),
            "answer_reason_missing",
            Some("reason"),
            "Give a reason so the buyer can decide.",
        );
        check(
            answer(AnswerError::NotAQuantity("ten".into())),
            "answer_not_a_quantity",
            Some("proposed_quantity"),
            "“ten” is not a quantity.",
        );
        check(
            ActionError::Closed {
                order: "P00007".into(),
                why: Closed::Cancelled,
            },
            "order_cancelled",
            None,
            "P00007 was cancelled by the buyer; there is nothing to answer.",
        );
        let p = ActionError::NotFound.into_problem("No such order line among yours.");
        assert_eq!((p.status, p.code), (StatusCode::NOT_FOUND, "not_found"));
        assert_eq!(p.detail, "No such order line among yours.");
    }
}

//! What needs a buyer: orders not acknowledged within the window, proposals outside
//! tolerance, write-backs Odoo refused or that met a changed order. And the buyer's
//! decision on a proposal, written back to Odoo through the outbox.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::order::LineAnswerState;
use crate::domain::outcome::Outcome;
use crate::domain::risk::delivery_risk;
use crate::domain::tolerance::SupplierOverrides;
use crate::model::exceptions::{
    AtRiskDelivery, ExceptionTotals, ExceptionsView, LateAcknowledgment, PendingProposal,
    SupplierChoice,
};
use crate::model::sync::DeadLetterView;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::Quantity;
use crate::server::db::{self, Db, Tx};
use crate::server::idempotency::Submission;
use crate::server::order_events::{self, record_event};
use crate::server::orders::{self, ActionError};
use crate::server::sync::outbox::{self, OutboxAction};

/// Which exceptions to show: one supplier's, one buyer's (the PO's purchase representative
/// in Odoo), or all.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub supplier: Option<i64>,
    pub buyer: Option<String>,
    /// The viewer's companies (`server::companies`).
    pub companies: crate::server::companies::CompanyScope,
    /// Whether the viewer plans (planners, admins): others are not linked to the planning
    /// pages only planners open (`planning::monitor::links_for`).
    pub plans: bool,
}

/// The time limits exceptions are measured against.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// Hours after release before an unacknowledged order is late (per supplier where set).
    pub ack_hours: i64,
    /// Hours a planning source's newest version may age before it is stale.
    pub planning_refresh_hours: i64,
}

impl Windows {
    pub fn of(settings: &crate::server::settings::Settings) -> Windows {
        Windows {
            ack_hours: settings.ack_window_hours,
            planning_refresh_hours: settings.planning_refresh_hours,
        }
    }
}

/// How many of each kind the exceptions page shows, the most pressing first; the CSV, the
/// API and the digest have them all.
pub const SHOWN: usize = 200;

/// Every exception in `scope` (the CSV, the API, the digest).
pub async fn overview(
    db: &Db,
    scope: &Scope,
    windows: Windows,
) -> Result<ExceptionsView, sqlx::Error> {
    overview_of(db, scope, windows, None).await
}

/// The exceptions page: at most [`SHOWN`] of each kind, with how many there are.
pub async fn page(db: &Db, scope: &Scope, windows: Windows) -> Result<ExceptionsView, sqlx::Error> {
    overview_of(db, scope, windows, Some(SHOWN)).await
}

/// `LIMIT n` for a list shown in part, nothing for a whole one.
fn limit(shown: Option<usize>) -> String {
    shown.map(|n| format!(" LIMIT {n}")).unwrap_or_default()
}

/// How many rows a list read with [`limit`] stands for: the rows read, or when it may have
/// been cut, the count `count_sql` (bound like the list) answers.
async fn total(
    db: &Db,
    read: usize,
    shown: Option<usize>,
    count_sql: &str,
    scope: &Scope,
) -> Result<usize, sqlx::Error> {
    if shown.is_none_or(|n| read < n) {
        return Ok(read);
    }
    let (n,): (i64,) = sqlx::query_as(count_sql)
        .bind(scope.supplier)
        .bind(&scope.buyer)
        .fetch_one(db)
        .await?;
    Ok(usize::try_from(n).unwrap_or(read))
}

async fn overview_of(
    db: &Db,
    scope: &Scope,
    windows: Windows,
    shown: Option<usize>,
) -> Result<ExceptionsView, sqlx::Error> {
    let default_window_hours = windows.ack_hours;
    let now = chrono::Utc::now().naive_utc();
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let rows: Vec<(i64, String, String, Option<String>, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT o.id, o.name, s.name, COALESCE(o.date_approve, o.date_order), s.ack_window_hours
         FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.visible = 1 AND o.acknowledged_at IS NULL AND o.odoo_state = 'purchase' AND o.status = 'new'
           AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2){}",
        scope.companies.condition("o.id")
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .fetch_all(db)
    .await?;
    let mut late: Vec<LateAcknowledgment> = rows
        .into_iter()
        .filter_map(|(order_id, order_name, supplier_name, released, window)| {
            let released_at = released?;
            let t =
                chrono::NaiveDateTime::parse_from_str(released_at.get(..19)?, "%Y-%m-%d %H:%M:%S")
                    .ok()?;
            let age_hours = (now - t).num_hours();
            let window = SupplierOverrides {
                ack_window_hours: window,
                ..Default::default()
            };
            (age_hours >= window.ack_window_hours(default_window_hours)).then_some(
                LateAcknowledgment {
                    order_id,
                    order_name,
                    supplier_name,
                    released_at,
                    age_hours,
                },
            )
        })
        .collect();
    late.sort_by_key(|l| std::cmp::Reverse(l.age_hours));
    let mut totals = ExceptionTotals {
        late_acknowledgments: late.len(),
        ..Default::default()
    };
    late.truncate(shown.unwrap_or(usize::MAX));

    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let proposals: Vec<(i64, i64, String, String, String, String, String, Option<String>, Option<String>, Option<String>, Option<String>, String)> = sqlx::query_as(&format!(
        "SELECT l.id, o.id, o.name, s.name, l.description, l.quantity, l.uom, l.date_planned, l.proposed_date, l.proposed_quantity, l.answer_reason, l.answer
         {PROPOSALS}{} ORDER BY l.answered_at, l.id{}",
        scope.companies.condition("o.id"),
        limit(shown)
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .fetch_all(db)
    .await?;
    totals.proposals = total(
        db,
        proposals.len(),
        shown,
        &format!(
            "SELECT COUNT(*) {PROPOSALS}{}",
            scope.companies.condition("o.id")
        ),
        scope,
    )
    .await?;
    let (problems, sync_total) = sync_problems_of(db, scope, shown).await?;
    totals.sync_problems = sync_total;
    let (conflicts, conflicts_total) = crate::server::conflicts::list(db, scope, shown).await?;
    totals.conflicts = conflicts_total;
    let mut discrepancies = crate::server::discrepancies::find(
        db,
        &crate::server::discrepancies::Filter {
            supplier: scope.supplier,
            buyer: scope.buyer.clone(),
            order: None,
            companies: scope.companies.clone(),
        },
    )
    .await?;
    totals.discrepancies = discrepancies.len();
    discrepancies.truncate(shown.unwrap_or(usize::MAX));
    let suppliers: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM suppliers ORDER BY name")
            .fetch_all(db)
            .await?;
    let mut at_risk = at_risk(db, scope).await?;
    totals.at_risk = at_risk.len();
    at_risk.truncate(shown.unwrap_or(usize::MAX));
    let buyers: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT DISTINCT buyer_name FROM purchase_orders WHERE buyer_name <> ''{} ORDER BY buyer_name",
        scope.companies.condition("id")
    ))
    .fetch_all(db)
    .await?;
    Ok(ExceptionsView {
        late_acknowledgments: late,
        proposals: proposals
            .into_iter()
            .map(
                |(
                    line_id,
                    order_id,
                    order_name,
                    supplier_name,
                    description,
                    quantity,
                    uom,
                    date_planned,
                    proposed_date,
                    proposed_quantity,
                    reason,
                    answer,
                )| PendingProposal {
                    line_id,
                    order_id,
                    order_name,
                    supplier_name,
                    description,
                    quantity,
                    uom,
                    date_planned,
                    proposed_date,
                    proposed_quantity,
                    reason: reason.unwrap_or_default(),
                    // The query reads only these two states.
                    answer: if answer == LineAnswerState::Rejected.code() {
                        LineAnswerState::Rejected
                    } else {
                        LineAnswerState::ProposalPending
                    },
                },
            )
            .collect(),
        at_risk,
        discrepancies,
        sync_problems: problems,
        conflicts,
        // Planning data is not any one supplier's: shown unless the view is one supplier's.
        planning: if scope.supplier.is_none() {
            crate::server::planning::monitor::links_for(
                crate::server::planning::monitor::problems(db, now, windows.planning_refresh_hours)
                    .await?,
                scope.plans,
            )
        } else {
            Vec::new()
        },
        suppliers: suppliers
            .into_iter()
            .map(|(id, name)| SupplierChoice { id, name })
            .collect(),
        buyers: buyers.into_iter().map(|(b,)| b).collect(),
        totals,
        shown_at_most: shown,
    })
}

/// Proposals and rejections waiting for a buyer (`FROM ... WHERE`, bound: supplier, buyer).
const PROPOSALS: &str = "FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id JOIN suppliers s ON s.id = o.supplier_id
         WHERE l.answer IN ('proposal_pending', 'rejected') AND l.removed_in_odoo = 0 AND o.visible = 1 AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2)";

/// Dead write-backs (`FROM ... WHERE`, bound: supplier, buyer).
const DEAD: &str = "FROM outbox_messages m LEFT JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id LEFT JOIN suppliers s ON s.id = o.supplier_id
         WHERE m.status = 'dead' AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2)";

/// Write-backs Odoo refused or that were given up on (dead letters), with business context;
/// conflicts have their own list (`conflicts::list`).
/// At most [`SHOWN`], oldest first.
pub async fn sync_problems(db: &Db, scope: &Scope) -> Result<Vec<DeadLetterView>, sqlx::Error> {
    Ok(sync_problems_of(db, scope, Some(SHOWN)).await?.0)
}

/// The dead write-backs in `scope`, oldest first (at most `shown`), and how many there are.
async fn sync_problems_of(
    db: &Db,
    scope: &Scope,
    shown: Option<usize>,
) -> Result<(Vec<DeadLetterView>, usize), sqlx::Error> {
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let rows: Vec<(i64, String, Option<String>, Option<String>, String, String, i64, Option<String>, String)> = sqlx::query_as(&format!(
        "SELECT m.id, m.correlation_id, o.name, s.name, m.kind, m.status, m.attempts, m.last_error, m.created_at
         {DEAD}{} ORDER BY m.id{}",
        scope.companies.condition("o.id"),
        limit(shown)
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .fetch_all(db)
    .await?;
    let count = total(
        db,
        rows.len(),
        shown,
        &format!(
            "SELECT COUNT(*) {DEAD}{}",
            scope.companies.condition("o.id")
        ),
        scope,
    )
    .await?;
    let list = rows
        .into_iter()
        .map(
            |(
                id,
                correlation_id,
                order_name,
                supplier_name,
                kind,
                status,
                attempts,
                error,
                created_at,
            )| DeadLetterView {
                id,
                correlation_id,
                order_name,
                supplier_name,
                kind,
                status,
                attempts,
                error,
                created_at,
            },
        )
        .collect();
    Ok((list, count))
}

/// Approves a proposal (its date and quantity go to Odoo) or rejects it with a reason the
/// supplier reads (the supplier may then answer again). Decided inside the writing
/// transaction: a proposal decided the same way already changes nothing and says so.
pub async fn decide(
    db: &Db,
    user: &CurrentUser,
    line_id: i64,
    approve: bool,
    reason: &str,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    let reason = reason.trim();
    if !approve && reason.is_empty() {
        return Err(ActionError::Invalid(
            "Give the supplier a reason for the rejection.".into(),
        ));
    }
    let submission = Submission::new(user.id, key, "decide", &(line_id, approve, reason))?;
    let orders = orders_of_lines(db, &[line_id]).await?;
    let mut tx = db::write_keyed(db, &submission.lock_keys(orders)).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let outcome = decide_in(&mut tx, user, line_id, approve, reason).await?;
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Approves every proposal of `line_ids` that still waits (the bulk form), in one
/// transaction; proposals decided meanwhile are left as they are. Answers how many it
/// approved.
pub async fn approve_many(
    db: &Db,
    user: &CurrentUser,
    line_ids: &[i64],
    key: Option<&str>,
) -> Result<usize, ActionError> {
    if line_ids.len() > SHOWN {
        return Err(ActionError::Invalid(format!(
            "Approve at most {SHOWN} proposals at once (the screen shows {SHOWN})."
        )));
    }
    let submission = Submission::new(user.id, key, "approve_many", &line_ids)?;
    let orders = orders_of_lines(db, line_ids).await?;
    let mut tx = db::write_keyed(db, &submission.lock_keys(orders)).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let mut approved = 0;
    for id in line_ids {
        match decide_in(&mut tx, user, *id, true, "").await {
            Ok(Outcome { already: false, .. }) => approved += 1,
            // Decided meanwhile by someone else: nothing to do for that one.
            Ok(_) | Err(ActionError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    submission.record(&mut tx, &approved).await?;
    tx.commit().await?;
    Ok(approved)
}

/// The keys a decision on `line_ids` writes under: their orders' (the line, the order's
/// status, its outbox message and history all belong to the order, and a line never moves
/// to another order). Lines that do not exist lock nothing: the decision finds none.
async fn orders_of_lines(db: &Db, line_ids: &[i64]) -> Result<Vec<db::LockKey>, sqlx::Error> {
    if line_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT order_id FROM purchase_order_lines WHERE id IN ({})",
        db::placeholders(1, line_ids.len())
    );
    let mut q = sqlx::query_as::<_, (i64,)>(&sql);
    for id in line_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(db)
        .await?
        .into_iter()
        .map(|(o,)| db::LockKey::order(o))
        .collect())
}

async fn decide_in(
    tx: &mut Tx<'_>,
    user: &CurrentUser,
    line_id: i64,
    approve: bool,
    reason: &str,
) -> Result<Outcome, ActionError> {
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let row: Option<(i64, i64, i64, String, Quantity, Option<String>, Option<String>, Option<Quantity>, String)> = sqlx::query_as(&format!(
        "SELECT o.id, o.odoo_id, l.odoo_id, l.description, l.quantity, l.date_planned, l.proposed_date, l.proposed_quantity, o.name
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id WHERE l.id = $1 AND l.answer = 'proposal_pending'{}",
        user.companies.condition("o.id")
    ))
    .bind(line_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((
        order_id,
        order_odoo_id,
        line_odoo_id,
        description,
        quantity,
        date_planned,
        proposed_date,
        proposed_quantity,
        order_name,
    )) = row
    else {
        let decided = if approve {
            LineAnswerState::ProposalAccepted
        } else {
            LineAnswerState::ProposalRejected
        };
        let same: Option<(String,)> = sqlx::query_as(&format!(
            "SELECT description FROM purchase_order_lines WHERE id = $1 AND answer = $2 AND decided_by IS NOT NULL{}",
            user.companies.condition("order_id")
        ))
        .bind(line_id)
        .bind(decided.code())
        .fetch_optional(&mut **tx)
        .await?;
        return match same {
            Some((description,)) => Ok(Outcome::already(format!(
                "The proposal for “{description}” was {} already.",
                if approve { "approved" } else { "rejected" }
            ))),
            None => Err(ActionError::NotFound),
        };
    };
    let who = format!("{} <{}>", user.display_name, user.email);
    let correlation_id = outbox::new_correlation_id();
    let (state, event, action) = if approve {
        (
            LineAnswerState::ProposalAccepted,
            format!("approved the proposal for “{description}”"),
            OutboxAction::UpdateLine {
                order_odoo_id,
                line_odoo_id,
                date_planned: proposed_date,
                product_qty: proposed_quantity.map(|q| q.get().normalize()),
                seen_date: date_planned,
                seen_quantity: quantity.get().normalize(),
                user: who.clone(),
                reason: format!(
                    "proposal approved by the buyer{}",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    }
                ),
            },
        )
    } else {
        (
            LineAnswerState::ProposalRejected,
            format!("rejected the proposal for “{description}”: {reason}"),
            OutboxAction::Note { order_odoo_id, text: format!("{who} rejected the supplier's proposal on “{description}” ({order_name}): {reason}") },
        )
    };
    sqlx::query("UPDATE purchase_order_lines SET answer = $1, buyer_reason = $2, decided_by = $3, decided_at = $4 WHERE id = $5")
        .bind(state.code())
        .bind(if reason.is_empty() { None } else { Some(reason) })
        .bind(user.id)
        .bind(db::now())
        .bind(line_id)
        .execute(&mut **tx)
        .await?;
    outbox::enqueue(tx, &correlation_id, &action).await?;
    record_event(
        tx,
        order_id,
        Some(user.id),
        if approve {
            "proposal_approved"
        } else {
            "proposal_rejected"
        },
        &event,
        Some(&correlation_id),
    )
    .await?;
    orders::recompute_status(tx, order_id).await?;
    Ok(Outcome::done(format!(
        "The proposal for “{description}” is {}.",
        if approve { "approved" } else { "rejected" }
    )))
}

/// What a buyer does with a write-back Odoo refused or that met a changed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetterAction {
    /// Back in line for delivery.
    Replay,
    /// Given up for good.
    Discard,
}

/// Replays or discards a dead letter, with its audit entry, in one transaction. The
/// conditional update decides: of concurrent clicks one acts; the others find it done.
pub async fn settle_dead_letter(
    db: &Db,
    user: &CurrentUser,
    id: i64,
    action: DeadLetterAction,
    reason: &str,
    key: Option<&str>,
    ip: &str,
) -> Result<Outcome, ActionError> {
    let (name, audit_action) = match action {
        DeadLetterAction::Replay => ("replay", "outbox_replay"),
        DeadLetterAction::Discard => ("discard", "outbox_discard"),
    };
    let submission = Submission::new(user.id, key, name, &(id, reason))?;
    // Keyed by the message's order, as the outbox's own outcome transactions are.
    let order: Option<(i64,)> =
        sqlx::query_as("SELECT order_odoo_id FROM outbox_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let mut tx = match order {
        Some((odoo_id,)) => {
            order_events::write_for_odoo_order_and(db, odoo_id, submission.lock_keys(Vec::new()))
                .await?
        }
        None => db::write(db).await?,
    };
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    if !crate::server::companies::covers_message(&mut tx, &user.companies, id).await? {
        return Err(ActionError::NotFound);
    }
    let acted = match action {
        DeadLetterAction::Replay => outbox::replay(&mut tx, id).await?,
        DeadLetterAction::Discard => outbox::discard(&mut tx, id).await?,
    };
    if !acted {
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM outbox_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        return match (action, status.as_ref().map(|s| s.0.as_str())) {
            (DeadLetterAction::Replay, Some("pending" | "delivered")) => {
                Ok(Outcome::already("This write-back was sent again already."))
            }
            (DeadLetterAction::Discard, Some("discarded")) => {
                Ok(Outcome::already("This write-back was discarded already."))
            }
            _ => Err(ActionError::NotFound),
        };
    }
    crate::server::auth::users::audit(
        &mut *tx,
        Some(user.id),
        audit_action,
        &format!("outbox:{id}"),
        reason,
        ip,
    )
    .await?;
    let outcome = Outcome::done(match action {
        DeadLetterAction::Replay => "The write-back is on its way to Odoo again.",
        DeadLetterAction::Discard => "The write-back is discarded.",
    });
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Open lines whose delivery is at risk (see `domain::risk`), most overdue first.
async fn at_risk(db: &Db, scope: &Scope) -> Result<Vec<AtRiskDelivery>, sqlx::Error> {
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    // Only lines that can be at risk (`domain::risk`): due before today, or announced to
    // arrive after their date; and only their notices.
    let today = chrono::Utc::now().date_naive();
    let candidates = format!(
        "FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.visible = 1 AND o.odoo_state = 'purchase' AND l.removed_in_odoo = 0 AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2){}
           AND (SUBSTR(l.date_planned, 1, 10) < $3 OR EXISTS (
             SELECT 1 FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
             WHERE sl.line_id = l.id AND n.status <> 'cancelled' AND n.expected_arrival > SUBSTR(l.date_planned, 1, 10)))",
        scope.companies.condition("o.id")
    );
    let lines: Vec<(i64, i64, String, String, String, String, String, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT l.id, o.id, o.name, s.name, l.description, l.uom, l.quantity, l.qty_received, l.date_planned {candidates}"
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .bind(today.to_string())
    .fetch_all(db)
    .await?;
    let notices: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "SELECT sl.line_id, sl.quantity, n.expected_arrival FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
         WHERE n.status <> 'cancelled' AND sl.line_id IN (SELECT l.id {candidates})"
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .bind(today.to_string())
    .fetch_all(db)
    .await?;
    let mut announced: HashMap<i64, (Decimal, Option<NaiveDate>)> = HashMap::new();
    for (line, q, arrival) in notices {
        let e = announced.entry(line).or_insert((Decimal::ZERO, None));
        e.0 += db::decimal(&q)?;
        e.1 = e.1.max(Some(db::utc_time(&arrival)?.date()));
    }
    let mut out: Vec<(i64, AtRiskDelivery)> = Vec::new();
    for (line_id, order_id, order_name, supplier_name, description, uom, q, r, date_planned) in
        lines
    {
        let Some(requested) = db::opt_utc_time(date_planned)?.map(|t| t.date()) else {
            continue;
        };
        let open = (db::decimal(&q)? - db::decimal(&r)?).max(Decimal::ZERO);
        let (shipped, arrival) = announced
            .get(&line_id)
            .copied()
            .unwrap_or((Decimal::ZERO, None));
        let Some(risk) = delivery_risk(requested, today, open, shipped, arrival) else {
            continue;
        };
        out.push((
            (requested - today).num_days(),
            AtRiskDelivery {
                order_id,
                order_name,
                supplier_name,
                description,
                open_quantity: format!("{} {uom}", open.normalize()),
                requested: requested.to_string(),
                why: risk.describe(),
            },
        ));
    }
    out.sort_by_key(|(days, _)| *days);
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// What kind of exception a row is, with its stable code (API) and its words (CSV).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Proposal,
    LateAcknowledgment,
    AtRiskDelivery,
    ReceiptDiscrepancy,
    Conflict,
    Planning,
    SyncProblem,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Proposal,
        Category::LateAcknowledgment,
        Category::AtRiskDelivery,
        Category::ReceiptDiscrepancy,
        Category::Conflict,
        Category::Planning,
        Category::SyncProblem,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::Proposal => "proposal",
            Category::LateAcknowledgment => "late_acknowledgment",
            Category::AtRiskDelivery => "at_risk_delivery",
            Category::ReceiptDiscrepancy => "receipt_discrepancy",
            Category::Conflict => "conflict",
            Category::Planning => "planning",
            Category::SyncProblem => "sync_problem",
        }
    }

    pub fn from_code(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == s)
    }

    /// As the CSV names it.
    pub fn words(self) -> &'static str {
        match self {
            Category::Proposal => "proposal",
            Category::LateAcknowledgment => "late acknowledgment",
            Category::AtRiskDelivery => "at-risk delivery",
            Category::ReceiptDiscrepancy => "shipment vs receipt",
            Category::Conflict => "conflict",
            Category::Planning => "planning",
            Category::SyncProblem => "sync problem",
        }
    }
}

/// One exception, flat: what the CSV and the API list.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub category: Category,
    /// The order it is about (none for planning data; a sync problem names it only).
    pub order_id: Option<i64>,
    pub order_name: Option<String>,
    pub supplier: Option<String>,
    pub detail: String,
    /// Since when (naive UTC), or for an at-risk delivery the requested date.
    pub when: String,
    /// Where a person acts on it (a path on the portal).
    pub link: String,
}

/// The screen's exceptions, one row each, in the screen's order.
pub fn rows(view: &ExceptionsView) -> Vec<Row> {
    let mut out = Vec::new();
    let order_link = |id: i64| format!("/orders/{id}");
    let mut push = |category,
                    order: (Option<i64>, Option<&str>),
                    supplier: Option<&str>,
                    detail: String,
                    when: &str,
                    link: String| {
        out.push(Row {
            category,
            order_id: order.0,
            order_name: order.1.map(str::to_string),
            supplier: supplier.filter(|s| !s.is_empty()).map(str::to_string),
            detail,
            when: when.to_string(),
            link,
        })
    };
    for p in &view.proposals {
        let what = format!(
            "{}: {}{} ({})",
            p.description,
            p.proposed_date
                .as_deref()
                .map(|d| format!("date {} ", d.get(..10).unwrap_or(d)))
                .unwrap_or_default(),
            p.proposed_quantity
                .as_deref()
                .map(|q| format!("quantity {q}"))
                .unwrap_or_default(),
            p.reason
        );
        push(
            Category::Proposal,
            (Some(p.order_id), Some(&p.order_name)),
            Some(&p.supplier_name),
            what,
            "",
            "/buyer/exceptions#proposals".into(),
        );
    }
    for l in &view.late_acknowledgments {
        push(
            Category::LateAcknowledgment,
            (Some(l.order_id), Some(&l.order_name)),
            Some(&l.supplier_name),
            format!("waiting {} h", l.age_hours),
            &l.released_at,
            order_link(l.order_id),
        );
    }
    for r in &view.at_risk {
        push(
            Category::AtRiskDelivery,
            (Some(r.order_id), Some(&r.order_name)),
            Some(&r.supplier_name),
            format!("{} ({} open): {}", r.description, r.open_quantity, r.why),
            &r.requested,
            order_link(r.order_id),
        );
    }
    for d in &view.discrepancies {
        push(
            Category::ReceiptDiscrepancy,
            (Some(d.order_id), Some(&d.order_name)),
            Some(&d.supplier_name),
            format!("{}: {}", d.description, d.detail),
            "",
            order_link(d.order_id),
        );
    }
    for c in &view.conflicts {
        let lines = c.lines.iter().map(|l| {
            format!(
                "{}: supplier {}; Odoo {}",
                l.description, l.supplier, l.odoo
            )
        });
        push(
            Category::Conflict,
            (Some(c.order_id), Some(&c.order_name)),
            Some(&c.supplier_name),
            std::iter::once(c.summary.clone())
                .chain(lines)
                .collect::<Vec<_>>()
                .join(" | "),
            &c.since,
            "/buyer/exceptions#conflicts".into(),
        );
    }
    for p in &view.planning {
        push(
            Category::Planning,
            (None, None),
            None,
            format!("{} ({}): {}", p.subject, p.kind, p.detail),
            &p.since,
            p.link.clone(),
        );
    }
    for d in &view.sync_problems {
        push(
            Category::SyncProblem,
            (None, d.order_name.as_deref()),
            d.supplier_name.as_deref(),
            format!(
                "{} {}: {}",
                d.kind,
                d.status,
                d.error.as_deref().unwrap_or_default()
            ),
            &d.created_at,
            "/buyer/exceptions#sync".into(),
        );
    }
    out
}

/// The screen as CSV: one row per exception, category first.
pub fn to_csv(view: &ExceptionsView) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut lines = vec!["category,order,supplier,detail,since".to_string()];
    for r in rows(view) {
        let cells = [
            r.category.words(),
            r.order_name.as_deref().unwrap_or_default(),
            r.supplier.as_deref().unwrap_or_default(),
            &r.detail,
            &r.when,
        ];
        lines.push(cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
    }
    lines.join("\r\n") + "\r\n"
}

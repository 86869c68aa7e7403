//! What needs a buyer: orders not acknowledged within the window, proposals outside
//! tolerance, write-backs Odoo refused or that met a changed order. And the buyer's
//! decision on a proposal, written back to Odoo through the outbox.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::order::LineAnswerState;
use crate::domain::outcome::Outcome;
use crate::domain::risk::delivery_risk;
use crate::domain::tolerance::SupplierOverrides;
use crate::model::exceptions::{
    AtRiskDelivery, Conflict, ExceptionTotals, ExceptionsView, LateAcknowledgment, PendingProposal,
    PlanningProblem, ReceiptDiscrepancy, SupplierChoice,
};
use crate::model::sync::DeadLetterView;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::{Code, Quantity, UtcTime};
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

/// How many of each kind the exceptions page shows, the most pressing first; the CSV and
/// the API stream them all ([`export`]).
pub const SHOWN: usize = 200;

/// How many of each kind a digest names; it counts the rest.
pub const IN_DIGEST: usize = 10;

/// Every exception in `scope` at once: what the streamed exports must equal, row for row
/// (their tests compare them). Nothing in the portal reads them whole any more: the page
/// and the digest read a few of each ([`page`], [`digest`]), the exports stream them all.
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

/// What a digest tells: at most [`IN_DIGEST`] of each kind, with how many there are.
pub async fn digest(
    db: &Db,
    scope: &Scope,
    windows: Windows,
) -> Result<ExceptionsView, sqlx::Error> {
    overview_of(db, scope, windows, Some(IN_DIGEST)).await
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

/// Where a section's reader puts each exception as soon as it has read it: a page's list
/// ([`Shown`]) or an export's next rows ([`Lines`]), so the export never holds a
/// section whole. Answers whether to read on (`false`: the download was abandoned).
pub(crate) trait Sink<T> {
    fn take(&mut self, item: T) -> impl std::future::Future<Output = bool> + Send;
}

/// What a page keeps of one section: the first `at_most` items, and how many were read.
struct Shown<T> {
    items: Vec<T>,
    at_most: usize,
    read: usize,
}

impl<T> Shown<T> {
    fn new(shown: Option<usize>) -> Self {
        Shown {
            items: Vec::new(),
            at_most: shown.unwrap_or(usize::MAX),
            read: 0,
        }
    }
}

impl<T: Send> Sink<T> for Shown<T> {
    async fn take(&mut self, item: T) -> bool {
        self.read += 1;
        if self.items.len() < self.at_most {
            self.items.push(item);
        }
        true
    }
}

/// Hands each row of `rows` to `out`, made into an item by `item` (None: not an exception
/// after all), until the rows end or `out` has had enough.
async fn pour<R, T>(
    mut rows: futures::stream::BoxStream<'_, Result<R, sqlx::Error>>,
    mut item: impl FnMut(R) -> Result<Option<T>, sqlx::Error> + Send,
    out: &mut impl Sink<T>,
) -> Result<(), sqlx::Error> {
    while let Some(row) = futures::TryStreamExt::try_next(&mut rows).await? {
        if let Some(item) = item(row)? {
            if !out.take(item).await {
                break;
            }
        }
    }
    Ok(())
}

async fn overview_of(
    db: &Db,
    scope: &Scope,
    windows: Windows,
    shown: Option<usize>,
) -> Result<ExceptionsView, sqlx::Error> {
    let now = chrono::Utc::now().naive_utc();
    let mut late = Shown::new(shown);
    late_acknowledgments(db, scope, windows.ack_hours, now, &mut late).await?;
    let mut totals = ExceptionTotals {
        late_acknowledgments: late.read,
        ..Default::default()
    };
    let mut proposals = Shown::new(shown);
    pending_proposals(db, scope, shown, &mut proposals).await?;
    totals.proposals = total(
        db,
        proposals.read,
        shown,
        &format!(
            "SELECT COUNT(*) {PROPOSALS}{}",
            scope.companies.condition("o.id")
        ),
        scope,
    )
    .await?;
    let mut problems = Shown::new(shown);
    dead_letters(db, scope, shown, &mut problems).await?;
    totals.sync_problems = total(
        db,
        problems.read,
        shown,
        &format!(
            "SELECT COUNT(*) {DEAD}{}",
            scope.companies.condition("o.id")
        ),
        scope,
    )
    .await?;
    let (conflicts, conflicts_total) = crate::server::conflicts::list(db, scope, shown).await?;
    totals.conflicts = conflicts_total;
    let mut discrepancies = Shown::new(shown);
    crate::server::discrepancies::each(db, &discrepancy_filter(scope), &mut discrepancies).await?;
    totals.discrepancies = discrepancies.read;
    let suppliers: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM suppliers ORDER BY name")
            .fetch_all(db)
            .await?;
    let mut at_risk = Shown::new(shown);
    at_risk_deliveries(db, scope, now.date(), &mut at_risk).await?;
    totals.at_risk = at_risk.read;
    let buyers: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT DISTINCT buyer_name FROM purchase_orders WHERE buyer_name <> ''{} ORDER BY buyer_name",
        scope.companies.condition("id")
    ))
    .fetch_all(db)
    .await?;
    Ok(ExceptionsView {
        late_acknowledgments: late.items,
        proposals: proposals.items,
        at_risk: at_risk.items,
        discrepancies: discrepancies.items,
        sync_problems: problems.items,
        conflicts,
        planning: planning_problems(db, scope, now, windows).await?,
        suppliers: suppliers
            .into_iter()
            .map(|(id, name)| SupplierChoice { id, name })
            .collect(),
        buyers: buyers.into_iter().map(|(b,)| b).collect(),
        totals,
        shown_at_most: shown,
    })
}

/// The receipt discrepancies `scope` covers.
fn discrepancy_filter(scope: &Scope) -> crate::server::discrepancies::Filter {
    crate::server::discrepancies::Filter {
        supplier: scope.supplier,
        buyer: scope.buyer.clone(),
        order: None,
        companies: scope.companies.clone(),
    }
}

/// Orders not acknowledged within their supplier's window (else `default_hours`) after
/// release, the longest waiting first. Whether one is late is decided here, row by row (a
/// window per supplier, a release stored as text); the SQL reads the oldest release first,
/// which is the order of their ages, so nothing is held to be sorted. Orders released in
/// the same hour (the same age) come oldest release first, then by id.
async fn late_acknowledgments(
    db: &Db,
    scope: &Scope,
    default_hours: i64,
    now: chrono::NaiveDateTime,
    out: &mut impl Sink<LateAcknowledgment>,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "SELECT o.id, o.name, s.name, COALESCE(o.date_approve, o.date_order), s.ack_window_hours
         FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.visible = TRUE AND o.acknowledged_at IS NULL AND o.odoo_state = 'purchase' AND o.status = 'new'
           AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2){}
         ORDER BY COALESCE(o.date_approve, o.date_order), o.id",
        scope.companies.condition("o.id")
    );
    // A release time that does not parse fails the read (before, the order was left out
    // of the late list without a word).
    let rows = sqlx::query_as::<_, (i64, String, String, Option<UtcTime>, Option<i64>)>(&sql)
        .bind(scope.supplier)
        .bind(&scope.buyer)
        .fetch(db);
    let late = move |(order_id, order_name, supplier_name, released, window): (
        i64,
        String,
        String,
        Option<UtcTime>,
        Option<i64>,
    )| {
        let released = released?;
        let age_hours = (now - released.get()).num_hours();
        let window = SupplierOverrides {
            ack_window_hours: window,
            ..Default::default()
        };
        (age_hours >= window.ack_window_hours(default_hours)).then_some(LateAcknowledgment {
            order_id,
            order_name,
            supplier_name,
            released_at: released.to_string(),
            age_hours,
        })
    };
    pour(rows, |row| Ok(late(row)), out).await
}

/// A line whose proposal or rejection waits for a buyer, with its order and supplier.
#[derive(sqlx::FromRow)]
struct ProposalRow {
    line_id: i64,
    order_id: i64,
    order_name: String,
    supplier_name: String,
    description: String,
    quantity: String,
    uom: String,
    date_planned: Option<String>,
    proposed_date: Option<String>,
    proposed_quantity: Option<String>,
    answer_reason: Option<String>,
    answer: Code<LineAnswerState>,
}

/// Proposals and rejections waiting for a buyer, in the order they were answered (at most
/// `shown`).
async fn pending_proposals(
    db: &Db,
    scope: &Scope,
    shown: Option<usize>,
    out: &mut impl Sink<PendingProposal>,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "SELECT l.id AS line_id, o.id AS order_id, o.name AS order_name, s.name AS supplier_name, l.description, l.quantity, l.uom,
                l.date_planned, l.proposed_date, l.proposed_quantity, l.answer_reason, l.answer
         {PROPOSALS}{} ORDER BY l.answered_at, l.id{}",
        scope.companies.condition("o.id"),
        limit(shown)
    );
    let rows = sqlx::query_as::<_, ProposalRow>(&sql)
        .bind(scope.supplier)
        .bind(&scope.buyer)
        .fetch(db);
    pour(
        rows,
        |r| {
            Ok(Some(PendingProposal {
                line_id: r.line_id,
                order_id: r.order_id,
                order_name: r.order_name,
                supplier_name: r.supplier_name,
                description: r.description,
                quantity: r.quantity,
                uom: r.uom,
                date_planned: r.date_planned,
                proposed_date: r.proposed_date,
                proposed_quantity: r.proposed_quantity,
                reason: r.answer_reason.unwrap_or_default(),
                // The query reads only these two states.
                answer: r.answer.0,
            }))
        },
        out,
    )
    .await
}

/// Proposals and rejections waiting for a buyer (`FROM ... WHERE`, bound: supplier, buyer).
const PROPOSALS: &str = "FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id JOIN suppliers s ON s.id = o.supplier_id
         WHERE l.answer IN ('proposal_pending', 'rejected') AND l.removed_in_odoo = FALSE AND o.visible = TRUE AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2)";

/// Dead write-backs (`FROM ... WHERE`, bound: supplier, buyer).
const DEAD: &str = "FROM outbox_messages m LEFT JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id LEFT JOIN suppliers s ON s.id = o.supplier_id
         WHERE m.status = 'dead' AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2)";

/// Write-backs Odoo refused or that were given up on (dead letters), with business context;
/// conflicts have their own list (`conflicts::list`).
/// At most [`SHOWN`], oldest first.
pub async fn sync_problems(db: &Db, scope: &Scope) -> Result<Vec<DeadLetterView>, sqlx::Error> {
    let mut shown = Shown::new(Some(SHOWN));
    dead_letters(db, scope, Some(SHOWN), &mut shown).await?;
    Ok(shown.items)
}

/// A dead write-back, with its order and supplier if the order is known.
#[derive(sqlx::FromRow)]
struct DeadLetterRow {
    id: i64,
    correlation_id: String,
    order_name: Option<String>,
    supplier_name: Option<String>,
    kind: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    created_at: String,
}

/// The dead write-backs in `scope`, oldest first (at most `shown`).
async fn dead_letters(
    db: &Db,
    scope: &Scope,
    shown: Option<usize>,
    out: &mut impl Sink<DeadLetterView>,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "SELECT m.id, m.correlation_id, o.name AS order_name, s.name AS supplier_name, m.kind, m.status, m.attempts,
                m.last_error, m.created_at
         {DEAD}{} ORDER BY m.id{}",
        scope.companies.condition("o.id"),
        limit(shown)
    );
    let rows = sqlx::query_as::<_, DeadLetterRow>(&sql)
        .bind(scope.supplier)
        .bind(&scope.buyer)
        .fetch(db);
    pour(
        rows,
        |r| {
            Ok(Some(DeadLetterView {
                id: r.id,
                correlation_id: r.correlation_id,
                order_name: r.order_name,
                supplier_name: r.supplier_name,
                kind: r.kind,
                status: r.status,
                attempts: r.attempts,
                error: r.last_error,
                created_at: r.created_at,
            }))
        },
        out,
    )
    .await
}

/// Planning problems as `scope` sees them. Planning data is not any one supplier's: none
/// in one supplier's view. Read whole, even for the CSV: they are a few per planning
/// source, version and pull (`planning::monitor`), however many orders there are.
async fn planning_problems(
    db: &Db,
    scope: &Scope,
    now: chrono::NaiveDateTime,
    windows: Windows,
) -> Result<Vec<PlanningProblem>, sqlx::Error> {
    if scope.supplier.is_some() {
        return Ok(Vec::new());
    }
    Ok(crate::server::planning::monitor::links_for(
        crate::server::planning::monitor::problems(db, now, windows.planning_refresh_hours).await?,
        scope.plans,
    ))
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
/// status, its outbox message and history all belong to the order). Lines that do not
/// exist lock nothing: the decision finds none.
async fn orders_of_lines(db: &Db, line_ids: &[i64]) -> Result<Vec<db::LockKey>, sqlx::Error> {
    Ok(orders::orders_of_lines(db, line_ids)
        .await?
        .into_iter()
        .map(db::LockKey::order)
        .collect())
}

/// A line whose proposal waits for a decision, with its order.
#[derive(sqlx::FromRow)]
struct DecisionRow {
    order_id: i64,
    order_odoo_id: i64,
    line_odoo_id: i64,
    description: String,
    quantity: Quantity,
    date_planned: Option<String>,
    proposed_date: Option<String>,
    proposed_quantity: Option<Quantity>,
    order_name: String,
}

async fn decide_in(
    tx: &mut Tx<'_>,
    user: &CurrentUser,
    line_id: i64,
    approve: bool,
    reason: &str,
) -> Result<Outcome, ActionError> {
    let row: Option<DecisionRow> = sqlx::query_as(&format!(
        "SELECT o.id AS order_id, o.odoo_id AS order_odoo_id, l.odoo_id AS line_odoo_id, l.description, l.quantity, l.date_planned,
                l.proposed_date, l.proposed_quantity, o.name AS order_name
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id WHERE l.id = $1 AND l.answer = 'proposal_pending'{}",
        user.companies.condition("o.id")
    ))
    .bind(line_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(DecisionRow {
        order_id,
        order_odoo_id,
        line_odoo_id,
        description,
        quantity,
        date_planned,
        proposed_date,
        proposed_quantity,
        order_name,
    }) = row
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

/// Open lines whose delivery is at risk (see `domain::risk`), most overdue first. Only
/// lines that can be at risk are read (due before today, or announced to arrive after
/// their date), in one query ordered by requested day, each line's notices on the rows
/// right after it (a LEFT JOIN): a line is judged when the next one begins, so none is
/// held longer. Lines due the same day come by id.
async fn at_risk_deliveries(
    db: &Db,
    scope: &Scope,
    today: NaiveDate,
    out: &mut impl Sink<AtRiskDelivery>,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "SELECT l.id AS line_id, o.id AS order_id, o.name AS order_name, s.name AS supplier_name, l.description, l.uom, l.quantity,
                l.qty_received AS received, l.date_planned, an.quantity AS shipped, an.expected_arrival AS arrival
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id JOIN suppliers s ON s.id = o.supplier_id
         LEFT JOIN (SELECT sl.line_id, sl.quantity, n.expected_arrival FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
                    WHERE n.status <> 'cancelled') an ON an.line_id = l.id
         WHERE o.visible = TRUE AND o.odoo_state = 'purchase' AND l.removed_in_odoo = FALSE AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2){}
           AND (SUBSTR(l.date_planned, 1, 10) < $3 OR EXISTS (
             SELECT 1 FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
             WHERE sl.line_id = l.id AND n.status <> 'cancelled' AND n.expected_arrival > SUBSTR(l.date_planned, 1, 10)))
         ORDER BY SUBSTR(l.date_planned, 1, 10), l.id",
        scope.companies.condition("o.id")
    );
    let mut rows = sqlx::query_as::<_, CandidateRow>(&sql)
        .bind(scope.supplier)
        .bind(&scope.buyer)
        .bind(today.to_string())
        .fetch(db);
    // The line being read, and what its notices announced: how much, arriving when.
    let mut current: Option<(CandidateLine, Decimal, Option<NaiveDate>)> = None;
    while let Some(CandidateRow {
        line,
        shipped,
        arrival,
    }) = futures::TryStreamExt::try_next(&mut rows).await?
    {
        if current
            .as_ref()
            .is_some_and(|(current, ..)| current.line_id != line.line_id)
        {
            if let Some(risk) = judge(current.take(), today)? {
                if !out.take(risk).await {
                    return Ok(());
                }
            }
        }
        let (_, announced, latest) = current.get_or_insert((line, Decimal::ZERO, None));
        if let Some(shipped) = shipped {
            *announced += shipped.get();
        }
        if let Some(arrival) = arrival {
            *latest = (*latest).max(Some(arrival.get().date()));
        }
    }
    if let Some(risk) = judge(current, today)? {
        out.take(risk).await;
    }
    Ok(())
}

/// A line that may be at risk, as [`at_risk_deliveries`] reads it.
#[derive(sqlx::FromRow)]
struct CandidateLine {
    line_id: i64,
    order_id: i64,
    order_name: String,
    supplier_name: String,
    description: String,
    uom: String,
    quantity: Quantity,
    received: Quantity,
    date_planned: Option<UtcTime>,
}

/// A line that may be at risk and one of its notices (none: no notice), as
/// [`at_risk_deliveries`] reads it.
#[derive(sqlx::FromRow)]
struct CandidateRow {
    #[sqlx(flatten)]
    line: CandidateLine,
    shipped: Option<Quantity>,
    arrival: Option<UtcTime>,
}

/// `line` as an at-risk delivery, given what its notices announced, if it is one.
fn judge(
    line: Option<(CandidateLine, Decimal, Option<NaiveDate>)>,
    today: NaiveDate,
) -> Result<Option<AtRiskDelivery>, sqlx::Error> {
    let Some((line, shipped, arrival)) = line else {
        return Ok(None);
    };
    let Some(requested) = line.date_planned.map(|t| t.get().date()) else {
        return Ok(None);
    };
    let open = (line.quantity.get() - line.received.get()).max(Decimal::ZERO);
    Ok(
        delivery_risk(requested, today, open, shipped, arrival).map(|risk| AtRiskDelivery {
            order_id: line.order_id,
            order_name: line.order_name,
            supplier_name: line.supplier_name,
            description: line.description,
            open_quantity: format!("{} {}", open.normalize(), line.uom),
            requested: requested.to_string(),
            why: risk.describe(),
        }),
    )
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

impl Row {
    fn new(
        category: Category,
        order: (Option<i64>, Option<&str>),
        supplier: Option<&str>,
        detail: String,
        when: &str,
        link: String,
    ) -> Row {
        Row {
            category,
            order_id: order.0,
            order_name: order.1.map(str::to_string),
            supplier: supplier.filter(|s| !s.is_empty()).map(str::to_string),
            detail,
            when: when.to_string(),
            link,
        }
    }
}

/// An exception as one flat [`Row`]: the one place the page's API rows and the CSV lines
/// are worded, so the two cannot drift apart.
pub(crate) trait AsRow {
    fn row(&self) -> Row;
}

fn order_link(id: i64) -> String {
    format!("/orders/{id}")
}

impl AsRow for PendingProposal {
    fn row(&self) -> Row {
        let what = format!(
            "{}: {}{} ({})",
            self.description,
            self.proposed_date
                .as_deref()
                .map(|d| format!("date {} ", d.get(..10).unwrap_or(d)))
                .unwrap_or_default(),
            self.proposed_quantity
                .as_deref()
                .map(|q| format!("quantity {q}"))
                .unwrap_or_default(),
            self.reason
        );
        Row::new(
            Category::Proposal,
            (Some(self.order_id), Some(&self.order_name)),
            Some(&self.supplier_name),
            what,
            "",
            "/buyer/exceptions#proposals".into(),
        )
    }
}

impl AsRow for LateAcknowledgment {
    fn row(&self) -> Row {
        Row::new(
            Category::LateAcknowledgment,
            (Some(self.order_id), Some(&self.order_name)),
            Some(&self.supplier_name),
            format!("waiting {} h", self.age_hours),
            &self.released_at,
            order_link(self.order_id),
        )
    }
}

impl AsRow for AtRiskDelivery {
    fn row(&self) -> Row {
        Row::new(
            Category::AtRiskDelivery,
            (Some(self.order_id), Some(&self.order_name)),
            Some(&self.supplier_name),
            format!(
                "{} ({} open): {}",
                self.description, self.open_quantity, self.why
            ),
            &self.requested,
            order_link(self.order_id),
        )
    }
}

impl AsRow for ReceiptDiscrepancy {
    fn row(&self) -> Row {
        Row::new(
            Category::ReceiptDiscrepancy,
            (Some(self.order_id), Some(&self.order_name)),
            Some(&self.supplier_name),
            format!("{}: {}", self.description, self.detail),
            "",
            order_link(self.order_id),
        )
    }
}

impl AsRow for Conflict {
    fn row(&self) -> Row {
        let lines = self.lines.iter().map(|l| {
            format!(
                "{}: supplier {}; Odoo {}",
                l.description, l.supplier, l.odoo
            )
        });
        Row::new(
            Category::Conflict,
            (Some(self.order_id), Some(&self.order_name)),
            Some(&self.supplier_name),
            std::iter::once(self.summary.clone())
                .chain(lines)
                .collect::<Vec<_>>()
                .join(" | "),
            &self.since,
            "/buyer/exceptions#conflicts".into(),
        )
    }
}

impl AsRow for PlanningProblem {
    fn row(&self) -> Row {
        Row::new(
            Category::Planning,
            (None, None),
            None,
            format!("{} ({}): {}", self.subject, self.kind, self.detail),
            &self.since,
            self.link.clone(),
        )
    }
}

impl AsRow for DeadLetterView {
    fn row(&self) -> Row {
        Row::new(
            Category::SyncProblem,
            (None, self.order_name.as_deref()),
            self.supplier_name.as_deref(),
            format!(
                "{} {}: {}",
                self.kind,
                self.status,
                self.error.as_deref().unwrap_or_default()
            ),
            &self.created_at,
            "/buyer/exceptions#sync".into(),
        )
    }
}

/// The screen's exceptions, one row each, in the screen's order (the CSV's too, [`csv`]).
pub fn rows(view: &ExceptionsView) -> Vec<Row> {
    fn of<T: AsRow>(items: &[T]) -> impl Iterator<Item = Row> + '_ {
        items.iter().map(AsRow::row)
    }
    of(&view.proposals)
        .chain(of(&view.late_acknowledgments))
        .chain(of(&view.at_risk))
        .chain(of(&view.discrepancies))
        .chain(of(&view.conflicts))
        .chain(of(&view.planning))
        .chain(of(&view.sync_problems))
        .collect()
}

/// The CSV's first line.
const CSV_HEADER: &str = "category,order,supplier,detail,since\r\n";

/// Appends `row` to `out` as one CSV line: category first, fields quoted where they must
/// be, CRLF at the end.
fn csv_line(out: &mut String, row: &Row) {
    let cells = [
        row.category.words(),
        row.order_name.as_deref().unwrap_or_default(),
        row.supplier.as_deref().unwrap_or_default(),
        &row.detail,
        &row.when,
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push_str("\r\n");
}

/// About how many bytes of an export are sent at once.
const CHUNK_BYTES: usize = 16 * 1024;

/// How a streamed export ([`export`]) writes its rows: its text before the first row is
/// given to [`export`]; `row` appends one row, `end` what follows the last.
pub trait Format: Send + 'static {
    fn row(&mut self, out: &mut String, row: &Row);
    fn end(&mut self, out: &mut String);
}

/// CSV lines after [`CSV_HEADER`].
struct Csv;

impl Format for Csv {
    fn row(&mut self, out: &mut String, row: &Row) {
        csv_line(out, row);
    }
    fn end(&mut self, _out: &mut String) {}
}

/// A streamed export's end of the section readers: each exception becomes a row, and the
/// rows go on to the response in chunks of about [`CHUNK_BYTES`], through a channel of a
/// few chunks (a slow download slows the reading; an abandoned one stops it).
struct Lines<F> {
    pending: String,
    chunks: tokio::sync::mpsc::Sender<Result<String, sqlx::Error>>,
    /// Whether a chunk has gone (the answer is then 200, whatever happens next).
    sent: bool,
    format: F,
}

impl<F> Lines<F> {
    /// Sends what is pending; `false` when nobody reads any more.
    async fn flush(&mut self) -> bool {
        if self.pending.is_empty() {
            return !self.chunks.is_closed();
        }
        let chunk = std::mem::take(&mut self.pending);
        self.sent = true;
        self.chunks.send(Ok(chunk)).await.is_ok()
    }
}

impl<T: AsRow + Send, F: Format> Sink<T> for Lines<F> {
    async fn take(&mut self, item: T) -> bool {
        // Abandoned: the readers stop now, not once a chunk is full.
        if self.chunks.is_closed() {
            return false;
        }
        self.format.row(&mut self.pending, &item.row());
        self.pending.len() < CHUNK_BYTES || self.flush().await
    }
}

/// Every exception in `scope` as CSV (`GET /buyer/exceptions.csv`), streamed ([`export`]).
pub fn csv(
    db: Db,
    scope: Scope,
    windows: Windows,
) -> impl futures::Stream<Item = Result<String, sqlx::Error>> + Send + 'static {
    export(db, scope, windows, Vec::new(), CSV_HEADER.to_string(), Csv)
}

/// The exceptions of `only` (every category when empty) in `scope`, as `start` and then
/// one row each in `format`: the rows of [`rows`], in its order and words, written as each
/// section's query yields them, so an export's memory does not grow with the number of
/// exceptions (the CSV, `/api/v1/exceptions`). The reading runs in a task of its own that
/// owns what it reads with; the stream answers its chunks.
///
/// The first chunk (`start` and the first section's rows) comes only once the first
/// section's query has answered, so an error there is the stream's first item and the
/// handler can still answer 500 ([`started`]). A later error is logged here and ends the
/// stream with that error, which cuts the response short (no final chunk): the status has
/// gone, and a download that does not end properly is not mistaken for a whole one.
pub fn export<F: Format>(
    db: Db,
    scope: Scope,
    windows: Windows,
    only: Vec<Category>,
    start: String,
    format: F,
) -> impl futures::Stream<Item = Result<String, sqlx::Error>> + Send + 'static {
    use tracing::Instrument;
    let (chunks, receiver) = tokio::sync::mpsc::channel(4);
    let mut out = Lines {
        pending: start,
        chunks,
        sent: false,
        format,
    };
    tokio::spawn(
        async move {
            if let Err(e) = write_rows(&db, &scope, windows, &only, &mut out).await {
                if out.sent {
                    tracing::error!(error = %e, "exceptions export broke off; the download is cut short");
                }
                let _ = out.chunks.send(Err(e)).await;
            }
        }
        .instrument(tracing::Span::current()),
    );
    // Fused: a body may be polled again after its end (the compression layer does), and
    // `unfold` panics then.
    futures::StreamExt::fuse(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ))
}

/// Waits for an export's first chunk: its error, or the whole export as a stream to answer
/// with (the first chunk again, then the rest).
pub async fn started(
    export: impl futures::Stream<Item = Result<String, sqlx::Error>> + Send + 'static,
) -> Result<impl futures::Stream<Item = Result<String, sqlx::Error>> + Send + 'static, sqlx::Error>
{
    use futures::StreamExt;
    let mut chunks = Box::pin(export);
    let first = match chunks.next().await {
        Some(Ok(first)) => first,
        Some(Err(e)) => return Err(e),
        None => {
            return Err(sqlx::Error::Protocol(
                "the export ended before it began".into(),
            ))
        }
    };
    Ok(futures::stream::iter([Ok(first)]).chain(chunks))
}

/// The sections of `only` (all when empty) in [`rows`]' order, each sent on as it is read.
async fn write_rows<F: Format>(
    db: &Db,
    scope: &Scope,
    windows: Windows,
    only: &[Category],
    out: &mut Lines<F>,
) -> Result<(), sqlx::Error> {
    let now = chrono::Utc::now().naive_utc();
    for category in Category::ALL {
        if !(only.is_empty() || only.contains(&category)) {
            continue;
        }
        match category {
            Category::Proposal => pending_proposals(db, scope, None, out).await?,
            Category::LateAcknowledgment => {
                late_acknowledgments(db, scope, windows.ack_hours, now, out).await?
            }
            Category::AtRiskDelivery => at_risk_deliveries(db, scope, now.date(), out).await?,
            Category::ReceiptDiscrepancy => {
                crate::server::discrepancies::each(db, &discrepancy_filter(scope), out).await?
            }
            Category::Conflict => crate::server::conflicts::each(db, scope, out).await?,
            Category::Planning => {
                for problem in planning_problems(db, scope, now, windows).await? {
                    if !out.take(problem).await {
                        return Ok(());
                    }
                }
            }
            Category::SyncProblem => dead_letters(db, scope, None, out).await?,
        }
        // The answer goes out with the first section; an abandoned one stops here.
        if !out.flush().await {
            return Ok(());
        }
    }
    let Lines {
        pending, format, ..
    } = out;
    format.end(pending);
    out.flush().await;
    Ok(())
}

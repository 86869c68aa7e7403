//! Conflicts between what a supplier answered and what Odoo holds now, for the buyer:
//! a write-back that met a changed order (an outbox message in `conflict`), or an order
//! Odoo changed after the supplier answered it. Both versions side by side, and the
//! buyer's resolution, recorded in the order's history and the audit log:
//!
//! - write-back: *apply the supplier's answer to Odoo's version* (the message, aimed at
//!   the line as Odoo holds it now, back in its place in the order's queue), or *keep Odoo's version and ask the supplier
//!   again* (the line's answer is cleared and the supplier's users are mailed);
//! - changed order: *ask the supplier again* (every answer cleared), or *keep the
//!   supplier's answers* (the change needs none).

use std::collections::HashMap;

use crate::domain::order::LineAnswerState;
use crate::domain::outcome::Outcome;
use crate::model::exceptions::{Conflict, ConflictLine};
use crate::server::auth::CurrentUser;
use crate::server::db::typed::{Code, Flag, Quantity};
use crate::server::db::{self, Db, Tx};
use crate::server::exceptions::{Scope, Sink};
use crate::server::idempotency::Submission;
use crate::server::order_events::record_event;
use crate::server::orders::{recompute_status, ActionError};
use crate::server::sync::outbox::{self, OutboxAction};

fn day(d: Option<&str>) -> &str {
    d.and_then(|d| d.get(..10)).unwrap_or("no date")
}

/// One order line as the portal last read it from Odoo.
#[derive(Clone, sqlx::FromRow)]
struct LineNow {
    odoo_id: i64,
    order_id: i64,
    description: String,
    quantity: Quantity,
    uom: String,
    date_planned: Option<String>,
    #[sqlx(try_from = "Flag")]
    removed_in_odoo: bool,
    answer: Option<Code<LineAnswerState>>,
    proposed_date: Option<String>,
    proposed_quantity: Option<Quantity>,
    answer_reason: Option<String>,
}

const LINE_COLUMNS: &str = "odoo_id, order_id, description, quantity, uom, date_planned, removed_in_odoo, answer, proposed_date, proposed_quantity, answer_reason";

impl LineNow {
    fn odoo(&self, order_cancelled: bool) -> String {
        if order_cancelled {
            "order cancelled".into()
        } else if self.removed_in_odoo {
            "line removed from the order".into()
        } else {
            format!(
                "{} {} by {}",
                self.quantity,
                self.uom,
                day(self.date_planned.as_deref())
            )
        }
    }

    fn supplier(&self) -> String {
        match self.answer.map(|a| a.0) {
            None => "no answer".into(),
            Some(LineAnswerState::Accepted) => "accepted as ordered".into(),
            Some(LineAnswerState::Rejected) => format!(
                "cannot deliver: {}",
                self.answer_reason.clone().unwrap_or_default()
            ),
            Some(state) => format!(
                "{}: {} by {}",
                state.label().to_lowercase(),
                self.proposed_quantity.unwrap_or(self.quantity),
                day(self
                    .proposed_date
                    .as_deref()
                    .or(self.date_planned.as_deref()))
            ),
        }
    }
}

type ConflictRow = (i64, i64, String, String, String, Option<String>);

/// A write-back in conflict as [`list`] reads it.
type MessageRow = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    String,
    String,
    String,
    String,
);

/// Where write-backs and changed orders in conflict are found (`FROM ... WHERE`, bound:
/// supplier, buyer), and what to read of them.
fn sources(scope: &Scope) -> [(String, &'static str); 2] {
    let companies = scope.companies.condition("o.id");
    [
        (
            format!(
                "FROM outbox_messages m JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id JOIN suppliers s ON s.id = o.supplier_id
         WHERE m.status = 'conflict' AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2){companies}"
            ),
            "SELECT m.id, m.payload, m.created_at, m.last_error, o.id, o.name, s.name, o.odoo_state, m.correlation_id",
        ),
        (
            format!(
                "FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.visible = TRUE AND o.odoo_change_summary IS NOT NULL
           AND ($1 IS NULL OR o.supplier_id = $1) AND ($2 IS NULL OR o.buyer_name = $2){companies}"
            ),
            "SELECT o.id, o.odoo_id, o.name, s.name, o.odoo_state, o.odoo_change_summary",
        ),
    ]
}

/// The conflicts in `scope`, oldest first: write-backs, then changed orders; at most
/// `shown` of each (None: all), and how many there are. A fixed number of queries,
/// however many conflicts there are.
pub async fn list(
    db: &Db,
    scope: &Scope,
    shown: Option<usize>,
) -> Result<(Vec<Conflict>, usize), sqlx::Error> {
    let limit = shown.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let [(messages_from, messages_columns), (orders_from, orders_columns)] = sources(scope);
    // Write-backs in conflict.
    let messages: Vec<MessageRow> = sqlx::query_as(&format!(
        "{messages_columns} {messages_from} ORDER BY m.id{limit}"
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .fetch_all(db)
    .await?;
    // Orders Odoo changed after the supplier answered.
    let orders: Vec<ConflictRow> = sqlx::query_as(&format!(
        "{orders_columns} {orders_from} ORDER BY o.id{limit}"
    ))
    .bind(scope.supplier)
    .bind(&scope.buyer)
    .fetch_all(db)
    .await?;
    let mut total = messages.len() + orders.len();
    if shown.is_some_and(|n| messages.len() >= n || orders.len() >= n) {
        let count = |from: &str| format!("SELECT COUNT(*) {from}");
        let mut n = 0;
        for sql in [count(&messages_from), count(&orders_from)] {
            let (c,): (i64,) = sqlx::query_as(&sql)
                .bind(scope.supplier)
                .bind(&scope.buyer)
                .fetch_one(db)
                .await?;
            n += usize::try_from(c).unwrap_or(0);
        }
        total = n;
    }
    Ok((described(db, messages, orders).await?, total))
}

/// Conflicts [`each`] reads at a time.
const AT_ONCE: usize = 200;

/// What [`list`] answers with `shown` None, handed to `out` [`AT_ONCE`] at a time in the
/// same order (each kind by id), so only those are held however many there are.
pub(crate) async fn each(
    db: &Db,
    scope: &Scope,
    out: &mut impl Sink<Conflict>,
) -> Result<(), sqlx::Error> {
    let [messages, orders] = sources(scope);
    // Write-backs (`m`), then changed orders (`o`), each by id.
    for (alias, (from, columns)) in [("m", messages), ("o", orders)] {
        let sql =
            format!("{columns} {from} AND {alias}.id > $3 ORDER BY {alias}.id LIMIT {AT_ONCE}");
        let mut after = i64::MIN;
        loop {
            let (messages, orders): (Vec<MessageRow>, Vec<ConflictRow>) = if alias == "m" {
                (batch(db, scope, &sql, after).await?, Vec::new())
            } else {
                (Vec::new(), batch(db, scope, &sql, after).await?)
            };
            let read = messages.len() + orders.len();
            let last = messages.last().map(|m| m.0).or(orders.last().map(|o| o.0));
            for conflict in described(db, messages, orders).await? {
                if !out.take(conflict).await {
                    return Ok(());
                }
            }
            match last {
                Some(id) if read == AT_ONCE => after = id,
                _ => break,
            }
        }
    }
    Ok(())
}

/// The rows `sql` (bound: supplier, buyer, the id to read after) answers.
async fn batch<R>(db: &Db, scope: &Scope, sql: &str, after: i64) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(scope.supplier)
        .bind(&scope.buyer)
        .bind(after)
        .fetch_all(db)
        .await
}

/// `messages` then `orders` as conflicts, both versions side by side: the lines and when
/// each order was last seen changed, in a fixed number of queries.
async fn described(
    db: &Db,
    messages: Vec<MessageRow>,
    orders: Vec<ConflictRow>,
) -> Result<Vec<Conflict>, sqlx::Error> {
    let actions: Vec<Option<OutboxAction>> = messages
        .iter()
        .map(|m| serde_json::from_str(&m.1).ok())
        .collect();
    // The lines the write-backs were about and every line of the changed orders, in one read.
    let line_ids: Vec<i64> = actions
        .iter()
        .filter_map(|a| match a {
            Some(OutboxAction::UpdateLine { line_odoo_id, .. }) => Some(*line_odoo_id),
            _ => None,
        })
        .collect();
    let order_ids: Vec<i64> = orders.iter().map(|o| o.0).collect();
    let mut by_odoo_id: HashMap<i64, LineNow> = HashMap::new();
    let mut by_order: HashMap<i64, Vec<LineNow>> = HashMap::new();
    if !line_ids.is_empty() || !order_ids.is_empty() {
        let in_list = |ids: &[i64]| {
            if ids.is_empty() {
                "NULL".to_string()
            } else {
                ids.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let lines: Vec<LineNow> = sqlx::query_as(&format!(
            "SELECT {LINE_COLUMNS} FROM purchase_order_lines WHERE odoo_id IN ({}) OR order_id IN ({}) ORDER BY order_id, sequence, id",
            in_list(&line_ids),
            in_list(&order_ids)
        ))
        .fetch_all(db)
        .await?;
        let wanted: std::collections::HashSet<i64> = line_ids.iter().copied().collect();
        let changed: std::collections::HashSet<i64> = order_ids.iter().copied().collect();
        for l in lines {
            if changed.contains(&l.order_id) {
                if wanted.contains(&l.odoo_id) {
                    by_odoo_id.insert(l.odoo_id, l.clone());
                }
                by_order.entry(l.order_id).or_default().push(l);
            } else {
                by_odoo_id.insert(l.odoo_id, l);
            }
        }
    }
    // When each changed order was last seen changed, in one read.
    let since: HashMap<i64, String> = if order_ids.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (i64, String)>(&format!(
            "SELECT order_id, MAX(at) FROM order_events WHERE kind = 'changed_in_odoo' AND order_id IN ({}) GROUP BY order_id",
            order_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ))
        .fetch_all(db)
        .await?
        .into_iter()
        .collect()
    };
    let mut out = Vec::with_capacity(messages.len() + orders.len());
    for ((id, _, at, error, order_id, order_name, supplier_name, state, correlation_id), action) in
        messages.into_iter().zip(actions)
    {
        let cancelled = state == "cancel";
        let (lines, can_apply, what) = match &action {
            Some(OutboxAction::UpdateLine {
                line_odoo_id,
                date_planned,
                product_qty,
                seen_date,
                seen_quantity,
                user,
                ..
            }) => {
                let line = by_odoo_id.get(line_odoo_id);
                let description = line.map(|l| l.description.clone()).unwrap_or_default();
                let uom = line.map(|l| l.uom.clone()).unwrap_or_default();
                let answered = format!(
                    "{} {uom} by {} (answered against {} by {})",
                    product_qty.unwrap_or(*seen_quantity).normalize(),
                    day(date_planned.as_deref().or(seen_date.as_deref())),
                    seen_quantity.normalize(),
                    day(seen_date.as_deref())
                );
                let open = line.is_some_and(|l| !l.removed_in_odoo && !cancelled);
                (
                    vec![ConflictLine {
                        description,
                        supplier: answered,
                        odoo: line
                            .map(|l| l.odoo(cancelled))
                            .unwrap_or_else(|| "line no longer in Odoo".into()),
                    }],
                    open,
                    format!("{user} changed a line"),
                )
            }
            Some(a) => (Vec::new(), false, a.kind().replace('_', " ")),
            None => (Vec::new(), false, "unreadable message".into()),
        };
        out.push(Conflict {
            key: format!("message:{id}"),
            order_id,
            order_name,
            supplier_name,
            kind: "write_back".into(),
            summary: format!(
                "{what}; Odoo: {}",
                error.unwrap_or_else(|| "changed".into())
            ),
            since: at,
            reference: Some(correlation_id),
            lines,
            can_apply,
        });
    }
    for (order_id, _, order_name, supplier_name, state, summary) in orders {
        let cancelled = state == "cancel";
        out.push(Conflict {
            key: format!("order:{order_id}"),
            order_id,
            order_name,
            supplier_name,
            kind: "changed_in_odoo".into(),
            summary: format!(
                "changed in Odoo after the supplier answered: {}",
                summary.unwrap_or_default()
            ),
            since: since.get(&order_id).cloned().unwrap_or_default(),
            reference: None,
            lines: by_order
                .get(&order_id)
                .into_iter()
                .flatten()
                .filter(|l| l.answer.is_some() || l.removed_in_odoo)
                .map(|l| ConflictLine {
                    description: l.description.clone(),
                    supplier: l.supplier(),
                    odoo: l.odoo(cancelled),
                })
                .collect(),
            can_apply: false,
        });
    }
    Ok(out)
}

/// What the buyer decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Write-back: send the supplier's answer against Odoo's current version.
    ApplySupplierAnswer,
    /// Write-back or changed order: keep Odoo's version, the supplier answers again.
    AskSupplierAgain,
    /// Changed order: the supplier's answers stand.
    KeepSupplierAnswers,
}

impl Resolution {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "apply" => Some(Resolution::ApplySupplierAnswer),
            "ask_again" => Some(Resolution::AskSupplierAgain),
            "keep_answers" => Some(Resolution::KeepSupplierAnswers),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Resolution::ApplySupplierAnswer => "apply",
            Resolution::AskSupplierAgain => "ask_again",
            Resolution::KeepSupplierAnswers => "keep_answers",
        }
    }
}

/// Resolves the conflict `key` (`message:<id>` or `order:<id>`). Everything it changes, the
/// mail to the supplier and the audit entry commit together or not at all; the conflict is
/// looked up inside the writing transaction, so of concurrent resolutions one acts.
pub async fn resolve(
    db: &Db,
    user: &CurrentUser,
    key: &str,
    resolution: Resolution,
    public_url: &str,
    form_key: Option<&str>,
    ip: &str,
) -> Result<Outcome, ActionError> {
    let (what, id) = key
        .split_once(':')
        .and_then(|(w, i)| Some((w, i.parse::<i64>().ok()?)))
        .ok_or(ActionError::NotFound)?;
    let submission = Submission::new(
        user.id,
        form_key,
        "resolve_conflict",
        &(key, resolution.code()),
    )?;
    // Everything a resolution changes belongs to the conflict's order: keyed by it.
    let conflict_order: Option<(i64,)> = match what {
        "message" => {
            sqlx::query_as(
                "SELECT o.id FROM outbox_messages m JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id WHERE m.id = $1",
            )
            .bind(id)
            .fetch_optional(db)
            .await?
        }
        "order" => Some((id,)),
        _ => None,
    };
    let (locked,) = conflict_order.ok_or(ActionError::NotFound)?;
    let mut tx =
        db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::order(locked)])).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let order_id = match what {
        "message" => resolve_write_back(&mut tx, user, id, resolution).await?,
        "order" => resolve_changed_order(&mut tx, user, id, resolution).await?,
        _ => return Err(ActionError::NotFound),
    };
    debug_assert_eq!(order_id, locked, "a conflict stays with its order");
    // Another company's conflict: as if it did not exist (nothing is committed).
    if !crate::server::companies::covers_order(&mut tx, &user.companies, order_id).await? {
        return Err(ActionError::NotFound);
    }
    if resolution == Resolution::AskSupplierAgain {
        let (supplier_id, name): (i64, String) =
            sqlx::query_as("SELECT supplier_id, name FROM purchase_orders WHERE id = $1")
                .bind(order_id)
                .fetch_one(&mut *tx)
                .await?;
        let mail = crate::server::notify::OrderMail::AnswerAgain { order: &name };
        crate::server::notify::order_mail(&mut tx, supplier_id, order_id, &mail, public_url)
            .await?;
    }
    recompute_status(&mut tx, order_id).await?;
    crate::server::auth::users::audit(
        &mut *tx,
        Some(user.id),
        "conflict_resolved",
        key,
        &format!("{} (order {order_id})", resolution.code()),
        ip,
    )
    .await?;
    let outcome = Outcome::done("The conflict is resolved.");
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn resolve_write_back(
    tx: &mut Tx<'_>,
    user: &CurrentUser,
    message_id: i64,
    resolution: Resolution,
) -> Result<i64, ActionError> {
    let row: Option<(String, String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT m.payload, m.correlation_id, m.created_at, o.id, m.conflict_odoo_now FROM outbox_messages m JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id
         WHERE m.id = $1 AND m.status = 'conflict'",
    )
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((payload, correlation_id, created_at, order_id, odoo_now)) = row else {
        return Err(ActionError::NotFound);
    };
    let action: OutboxAction = serde_json::from_str(&payload)
        .map_err(|_| ActionError::Invalid("This message cannot be read: discard it.".into()))?;
    let who = format!("{} <{}>", user.display_name, user.email);
    let detail = match (resolution, action) {
        (
            Resolution::ApplySupplierAnswer,
            OutboxAction::UpdateLine {
                order_odoo_id,
                line_odoo_id,
                date_planned,
                product_qty,
                user: supplier,
                reason,
                ..
            },
        ) => {
            let now: Option<(Quantity, Option<String>, String)> = sqlx::query_as(
                "SELECT l.quantity, l.date_planned, l.description FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
                 WHERE l.odoo_id = $1 AND l.removed_in_odoo = FALSE AND o.odoo_state <> 'cancel'",
            )
            .bind(line_odoo_id)
            .fetch_optional(&mut **tx)
            .await?;
            let Some((stored_quantity, stored_date, description)) = now else {
                return Err(ActionError::Invalid(
                    "The line is no longer open in Odoo: keep Odoo's version and ask the supplier again.".into(),
                ));
            };
            // Aimed at what Odoo held when the conflict was found (what the buyer decided
            // over); the portal's copy only where the delivery did not say.
            let odoo_now: Option<serde_json::Value> =
                odoo_now.and_then(|j| serde_json::from_str(&j).ok());
            let (seen_quantity, seen_date) = match odoo_now {
                Some(v) => (
                    match v.get("product_qty").and_then(serde_json::Value::as_str) {
                        Some(q) => db::decimal(q)?,
                        None => stored_quantity.get(),
                    },
                    v.get("date_planned")
                        .and_then(serde_json::Value::as_str)
                        .map(String::from),
                ),
                None => (stored_quantity.get(), stored_date),
            };
            // The same message, aimed at the line as Odoo holds it now, back in its place
            // in the order's queue: answers the supplier gave later still arrive after it.
            // It had written nothing (a conflict is found before writing), so its
            // correlation id still leads from the supplier's click to Odoo's chatter.
            let again = OutboxAction::UpdateLine {
                order_odoo_id,
                line_odoo_id,
                date_planned,
                product_qty,
                seen_date,
                seen_quantity,
                user: format!("{supplier}, applied over Odoo's change by {who}"),
                reason,
            };
            sqlx::query(
                "UPDATE outbox_messages SET payload = $1, status = 'pending', attempts = 0,
                        last_error = NULL, conflict_odoo_now = NULL WHERE id = $2 AND status = 'conflict'",
            )
            .bind(serde_json::to_string(&again).expect("outbox actions serialize"))
            .bind(message_id)
            .execute(&mut **tx)
            .await?;
            outbox::job_follows(tx, message_id).await?;
            format!("applied the supplier's answer on “{description}” to Odoo's current version")
        }
        (Resolution::ApplySupplierAnswer, _) => {
            return Err(ActionError::Invalid(
                "Only a line's new date or quantity can be applied over Odoo's change; send it again or keep Odoo's version.".into(),
            ))
        }
        (Resolution::AskSupplierAgain, action) => {
            if let OutboxAction::UpdateLine { line_odoo_id, .. } = action {
                // Unless the supplier has answered the line again since.
                sqlx::query(
                    "UPDATE purchase_order_lines SET answer = NULL, proposed_date = NULL, proposed_quantity = NULL,
                            answer_reason = NULL, answered_at = NULL
                     WHERE odoo_id = $1 AND (answered_at IS NULL OR answered_at <= $2)",
                )
                .bind(line_odoo_id)
                .bind(&created_at)
                .execute(&mut **tx)
                .await?;
            }
            // Off the order's queue: later messages of the order go on.
            sqlx::query("UPDATE outbox_messages SET status = 'discarded' WHERE id = $1 AND status = 'conflict'")
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
            outbox::job_follows(tx, message_id).await?;
            // The order is not answered in full any more: it asks for an acknowledgment.
            sqlx::query("UPDATE purchase_orders SET acknowledged_at = NULL, acknowledged_by = NULL WHERE id = $1")
                .bind(order_id)
                .execute(&mut **tx)
                .await?;
            "kept Odoo's version and asked the supplier to answer again".to_string()
        }
        (Resolution::KeepSupplierAnswers, _) => {
            return Err(ActionError::Invalid(
                "A write-back is resolved by applying the supplier's answer or keeping Odoo's version.".into(),
            ))
        }
    };
    record_event(
        tx,
        order_id,
        Some(user.id),
        "conflict_resolved",
        &detail,
        Some(&correlation_id),
    )
    .await?;
    Ok(order_id)
}

async fn resolve_changed_order(
    tx: &mut Tx<'_>,
    user: &CurrentUser,
    order_id: i64,
    resolution: Resolution,
) -> Result<i64, ActionError> {
    let r = sqlx::query("SELECT 1 FROM purchase_orders WHERE id = $1 AND odoo_change_summary IS NOT NULL AND visible = TRUE")
        .bind(order_id)
        .fetch_optional(&mut **tx)
        .await?;
    if r.is_none() {
        return Err(ActionError::NotFound);
    }
    let detail = match resolution {
        Resolution::AskSupplierAgain => {
            sqlx::query(
                "UPDATE purchase_order_lines SET answer = NULL, proposed_date = NULL, proposed_quantity = NULL,
                        answer_reason = NULL, answered_at = NULL WHERE order_id = $1",
            )
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
            // Resolved: the order waits for the supplier's acknowledgment and answers as
            // if new (the change stays in the history, and the supplier is mailed).
            sqlx::query("UPDATE purchase_orders SET acknowledged_at = NULL, acknowledged_by = NULL, odoo_change_summary = NULL WHERE id = $1")
                .bind(order_id)
                .execute(&mut **tx)
                .await?;
            // Answers not yet in Odoo were cleared with the rest: they do not go. One
            // being delivered right now (leased) finishes; Odoo then shows it, the
            // portal asks again all the same.
            let order_odoo_id: (i64,) =
                sqlx::query_as("SELECT odoo_id FROM purchase_orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut **tx)
                    .await?;
            let gone: Vec<(i64,)> = sqlx::query_as(
                "UPDATE outbox_messages SET status = 'discarded' WHERE order_odoo_id = $1 AND kind = 'update_line'
                   AND status IN ('pending', 'conflict')
                   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = outbox_messages.job_id AND j.lease_until >= $2)
                 RETURNING id",
            )
            .bind(order_odoo_id.0)
            .bind(db::now())
            .fetch_all(&mut **tx)
            .await?;
            for (id,) in gone {
                outbox::job_follows(tx, id).await?;
            }
            "asked the supplier to answer every line again after Odoo's change"
        }
        Resolution::KeepSupplierAnswers => {
            sqlx::query("UPDATE purchase_orders SET odoo_change_summary = NULL WHERE id = $1")
                .bind(order_id)
                .execute(&mut **tx)
                .await?;
            "kept the supplier's answers: Odoo's change needs no new answer"
        }
        Resolution::ApplySupplierAnswer => {
            return Err(ActionError::Invalid(
                "Odoo's change is the buyer's own: ask the supplier again or keep the supplier's answers.".into(),
            ))
        }
    };
    record_event(
        tx,
        order_id,
        Some(user.id),
        "conflict_resolved",
        detail,
        None,
    )
    .await?;
    Ok(order_id)
}

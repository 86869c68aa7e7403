//! What needs a buyer: orders not acknowledged within the window, proposals outside
//! tolerance, write-backs Odoo refused or that met a changed order. And the buyer's
//! decision on a proposal, written back to Odoo through the outbox.

use crate::api::exceptions::{ExceptionsView, LateAcknowledgment, PendingProposal, SupplierChoice};
use crate::api::sync::DeadLetterView;
use crate::domain::order::LineAnswerState;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Db};
use crate::server::orders::{self, record_event, ActionError};
use crate::server::sync::outbox::{self, OutboxAction};

pub async fn overview(
    db: &Db,
    supplier: Option<i64>,
    default_window_hours: i64,
) -> Result<ExceptionsView, sqlx::Error> {
    let now = chrono::Utc::now().naive_utc();
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let rows: Vec<(i64, String, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT o.id, o.name, s.name, COALESCE(o.date_approve, o.date_order), s.ack_window_hours
         FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
         WHERE o.visible = 1 AND o.acknowledged_at IS NULL AND o.odoo_state = 'purchase' AND o.status = 'new'
           AND (?1 IS NULL OR o.supplier_id = ?1)",
    )
    .bind(supplier)
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
            (age_hours >= window.unwrap_or(default_window_hours)).then_some(LateAcknowledgment {
                order_id,
                order_name,
                supplier_name,
                released_at,
                age_hours,
            })
        })
        .collect();
    late.sort_by_key(|l| std::cmp::Reverse(l.age_hours));

    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let proposals: Vec<(i64, i64, String, String, String, String, String, Option<String>, Option<String>, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT l.id, o.id, o.name, s.name, l.description, l.quantity, l.uom, l.date_planned, l.proposed_date, l.proposed_quantity, l.answer_reason, l.answer
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id JOIN suppliers s ON s.id = o.supplier_id
         WHERE l.answer IN ('proposal_pending', 'rejected') AND l.removed_in_odoo = 0 AND o.visible = 1 AND (?1 IS NULL OR o.supplier_id = ?1)
         ORDER BY l.answered_at",
    )
    .bind(supplier)
    .fetch_all(db)
    .await?;
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let problems: Vec<(i64, String, Option<String>, Option<String>, String, String, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT m.id, m.correlation_id, o.name, s.name, m.kind, m.status, m.attempts, m.last_error, m.created_at
         FROM outbox_messages m LEFT JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id LEFT JOIN suppliers s ON s.id = o.supplier_id
         WHERE m.status IN ('dead', 'conflict') AND (?1 IS NULL OR o.supplier_id = ?1) ORDER BY m.id",
    )
    .bind(supplier)
    .fetch_all(db)
    .await?;
    let suppliers: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM suppliers ORDER BY name")
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
                    answer,
                },
            )
            .collect(),
        sync_problems: problems
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
            .collect(),
        suppliers: suppliers
            .into_iter()
            .map(|(id, name)| SupplierChoice { id, name })
            .collect(),
    })
}

/// Approves a proposal (its date and quantity go to Odoo) or rejects it with a reason the
/// supplier reads (the supplier may then answer again).
pub async fn decide(
    db: &Db,
    user: &CurrentUser,
    line_id: i64,
    approve: bool,
    reason: &str,
) -> Result<(), ActionError> {
    let reason = reason.trim();
    if !approve && reason.is_empty() {
        return Err(ActionError::Invalid(
            "Give the supplier a reason for the rejection.".into(),
        ));
    }
    let mut tx = db::write(db).await?;
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let row: Option<(i64, i64, i64, String, String, Option<String>, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT o.id, o.odoo_id, l.odoo_id, l.description, l.quantity, l.date_planned, l.proposed_date, l.proposed_quantity, o.name
         FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id WHERE l.id = ? AND l.answer = 'proposal_pending'",
    )
    .bind(line_id)
    .fetch_optional(&mut *tx)
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
        return Err(ActionError::NotFound);
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
                product_qty: proposed_quantity,
                seen_date: date_planned,
                seen_quantity: quantity,
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
    sqlx::query("UPDATE purchase_order_lines SET answer = ?, buyer_reason = ?, decided_by = ?, decided_at = ? WHERE id = ?")
        .bind(state.code())
        .bind(if reason.is_empty() { None } else { Some(reason) })
        .bind(user.id)
        .bind(db::now())
        .bind(line_id)
        .execute(&mut *tx)
        .await?;
    outbox::enqueue(&mut tx, &correlation_id, &action).await?;
    record_event(
        &mut tx,
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
    orders::recompute_status(&mut tx, order_id).await?;
    tx.commit().await?;
    Ok(())
}

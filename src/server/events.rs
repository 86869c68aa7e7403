//! The event feed: what happened in the portal, for other systems (issue 15). An event is
//! written in the transaction of the change it describes (`order_events::record_event`
//! calls [`for_order`]), so there is no event without its change and no change without its
//! event; it carries the canonical representation of its order as the supplier saw it right
//! after the change. The same transaction queues one webhook job per subscriber that wants it
//! (`webhooks::fan_out`); `GET /api/v1/events` reads the same rows (the pull feed).
//!
//! Positions: an event's id. Writers are serialized (`db::write`), so ids are committed in
//! order and a reader that has seen id n never later finds a new event below n.

use crate::server::canonical::{self, EventData};
use crate::server::db::{self, Db, Tx};

/// An event type: its code, what it means, and whether only staff hear of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventType {
    pub code: &'static str,
    pub label: &'static str,
    pub staff_only: bool,
}

const fn t(code: &'static str, label: &'static str, staff_only: bool) -> EventType {
    EventType {
        code,
        label,
        staff_only,
    }
}

/// Every event type, as the README lists them.
pub const TYPES: &[EventType] = &[
    t(
        "order.released",
        "An order was released to the supplier",
        false,
    ),
    t("order.changed", "The buyer changed an order in Odoo", false),
    t(
        "order.cancelled",
        "An order was cancelled or withdrawn",
        false,
    ),
    t(
        "order.acknowledged",
        "The supplier acknowledged an order",
        false,
    ),
    t("order.line_answered", "The supplier answered a line", false),
    t(
        "order.proposal_decided",
        "The buyer approved or rejected a proposal",
        false,
    ),
    t(
        "shipment_notice.submitted",
        "A shipment notice was submitted",
        false,
    ),
    t(
        "shipment_notice.cancelled",
        "A shipment notice was cancelled",
        false,
    ),
    t(
        "document.attached",
        "A document was attached to a shipment notice",
        false,
    ),
    t("receipt.booked", "Goods were received in Odoo", false),
    t(
        "receipt.discrepancy",
        "A receipt differs from what was announced",
        false,
    ),
    t(
        "delivery.dead_lettered",
        "A delivery to Odoo failed for good",
        true,
    ),
    t(
        "planning.version_approved",
        "A planning version was approved (its demand signals go to Odoo)",
        true,
    ),
    t(
        "planning.version_applied",
        "Odoo holds every demand signal of a planning version",
        true,
    ),
    t(
        "webhook.test",
        "A test event sent from the webhooks page",
        false,
    ),
];

pub fn event_type(code: &str) -> Option<EventType> {
    TYPES.iter().copied().find(|e| e.code == code)
}

/// The public type of an order-history entry, if other systems hear of it.
fn public_type(timeline_kind: &str) -> Option<&'static str> {
    Some(match timeline_kind {
        "released" => "order.released",
        "changed_in_odoo" | "updated_in_odoo" => "order.changed",
        "withdrawn_in_odoo" => "order.cancelled",
        "acknowledged" => "order.acknowledged",
        "line_answered" => "order.line_answered",
        "proposal_approved" | "proposal_rejected" => "order.proposal_decided",
        "shipment_announced" => "shipment_notice.submitted",
        "shipment_cancelled" => "shipment_notice.cancelled",
        "document_attached" => "document.attached",
        "received" => "receipt.booked",
        "discrepancy" => "receipt.discrepancy",
        "delivery_dead" => "delivery.dead_lettered",
        _ => return None,
    })
}

/// Writes the event an order-history entry means, if any, in the caller's transaction.
pub async fn for_order(
    tx: &mut Tx<'_>,
    order_id: i64,
    timeline_kind: &str,
    summary: &str,
    correlation_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let Some(mut code) = public_type(timeline_kind) else {
        return Ok(());
    };
    let Some(order) = crate::server::orders::snapshot(tx, order_id).await? else {
        return Ok(());
    };
    if code == "order.changed" && order.status == crate::domain::order::OrderStatus::Cancelled {
        code = "order.cancelled";
    }
    let (supplier_id,): (i64,) =
        sqlx::query_as("SELECT supplier_id FROM purchase_orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
    let data = EventData {
        order: Some(canonical::order_of(order)),
        summary: summary.to_string(),
        planning: None,
    };
    // An action that sends nothing to Odoo (accepting a line as ordered) has no message id:
    // the event gets its own, so every event can be quoted.
    let correlation_id = correlation_id
        .map(String::from)
        .unwrap_or_else(crate::server::sync::outbox::new_correlation_id);
    write(
        tx,
        code,
        Some(supplier_id),
        Some(order_id),
        Some(&correlation_id),
        &data,
    )
    .await?;
    Ok(())
}

/// Writes a `planning.*` event about the version `import_id`, with its signals counted by
/// state as the caller's transaction sees them.
pub async fn for_planning_version(
    tx: &mut Tx<'_>,
    code: &str,
    import_id: i64,
    summary: &str,
) -> Result<(), sqlx::Error> {
    let row: Option<(Option<i64>, String, String, String)> = sqlx::query_as(
        "SELECT version, source, kind, correlation_id FROM planning_imports WHERE id = $1",
    )
    .bind(import_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((version, source, kind, correlation_id)) = row else {
        return Ok(());
    };
    let signals: std::collections::BTreeMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT state, COUNT(*) FROM planning_signals WHERE import_id = $1 GROUP BY state",
    )
    .bind(import_id)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let data = EventData {
        order: None,
        summary: summary.to_string(),
        planning: Some(canonical::PlanningVersionEvent {
            version_id: import_id,
            version: version.unwrap_or_default(),
            source,
            kind,
            correlation_id: correlation_id.clone(),
            signals,
        }),
    };
    write(tx, code, None, None, Some(&correlation_id), &data).await?;
    Ok(())
}

/// Writes an event and queues it for its subscribers, in the caller's transaction.
pub async fn write(
    tx: &mut Tx<'_>,
    code: &str,
    supplier_id: Option<i64>,
    order_id: Option<i64>,
    correlation_id: Option<&str>,
    data: &EventData,
) -> Result<i64, sqlx::Error> {
    let staff_only = event_type(code).is_none_or(|t| t.staff_only);
    let payload = serde_json::to_string(data).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let now = db::now();
    // `after` pages by id: ids must follow commit order (`db::feed`).
    db::feed(tx).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO events (type, occurred_at, correlation_id, supplier_id, staff_only, order_id, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(code)
    .bind(&now)
    .bind(correlation_id)
    .bind(supplier_id)
    .bind(staff_only)
    .bind(order_id)
    .bind(&payload)
    .fetch_one(&mut **tx)
    .await?;
    let event = event_of((
        id,
        code.to_string(),
        now,
        correlation_id.map(String::from),
        payload,
    ))?;
    crate::server::webhooks::fan_out(tx, &event, supplier_id, staff_only, order_id).await?;
    metrics::counter!(crate::server::telemetry::EVENTS_WRITTEN, "type" => code.to_string())
        .increment(1);
    Ok(id)
}

/// Who reads the feed: an organisation (its events, not the staff's) or the staff (all).
#[derive(Clone, Copy, Debug)]
pub enum Audience {
    Supplier(i64),
    Staff,
}

/// A page of the feed after `after` (an event id), oldest first.
pub async fn after(
    db: &Db,
    audience: Audience,
    after: i64,
    types: &[String],
    limit: i64,
) -> Result<Vec<canonical::Event>, sqlx::Error> {
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT id, type, occurred_at, correlation_id, payload FROM events WHERE id > {}",
        db::arg(&mut args, db::Arg::Int(after))
    );
    if let Audience::Supplier(s) = audience {
        sql += &format!(
            " AND supplier_id = {} AND staff_only = FALSE",
            db::arg(&mut args, db::Arg::Int(s))
        );
    }
    if !types.is_empty() {
        let list: Vec<String> = types
            .iter()
            .map(|t| db::arg(&mut args, db::Arg::Text(t.clone())))
            .collect();
        sql += &format!(" AND type IN ({})", list.join(", "));
    }
    sql += &format!(" ORDER BY id LIMIT {}", limit.clamp(1, 1000));
    let rows: Vec<(i64, String, String, Option<String>, String)> =
        db::bind_args(sqlx::query_as(&sql), &args)
            .fetch_all(db)
            .await?;
    rows.into_iter().map(event_of).collect()
}

/// One stored event as the API shows it.
pub fn event_of(
    (id, kind, at, correlation_id, payload): (i64, String, String, Option<String>, String),
) -> Result<canonical::Event, sqlx::Error> {
    Ok(canonical::Event {
        id: format!("evt_{id}"),
        kind,
        occurred_at: canonical::utc(db::utc_time(&at)?),
        correlation_id,
        data: serde_json::from_str(&payload).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

/// One event by id, as the API shows it.
pub async fn one(db: &Db, id: i64) -> Result<Option<canonical::Event>, sqlx::Error> {
    let row: Option<(i64, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, type, occurred_at, correlation_id, payload FROM events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(event_of).transpose()
}

/// The oldest event still kept (the feed's retention), if any.
pub async fn oldest(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    let (id,): (Option<i64>,) = sqlx::query_as("SELECT MIN(id) FROM events")
        .fetch_one(db)
        .await?;
    Ok(id)
}

/// Deletes what is older than `before` (stored time): events, finished jobs (delivered or
/// discarded; pending and dead ones stay whatever their age) and the delivery log. Webhook
/// jobs carry their own copy of the event, so deliveries still waiting are not affected.
///
/// The newest event, job and delivery attempt always stay: SQLite numbers a new row one
/// past the greatest id there is, so deleting the newest would hand its id out again, to an
/// event after a reader's cursor (which would skip it), to a job that outbox messages and
/// planning signals still name, or to an attempt that would sort before older ones.
///
/// Keyed on no key (the global lock shared): it decides on nothing but what each statement
/// matches, so an hourly prune neither waits for a planning import nor holds up, behind its
/// own exclusive lock request, the answers arriving during one.
pub async fn prune(db: &Db, before: &str) -> Result<u64, sqlx::Error> {
    let mut tx = db::write_keyed(db, &[]).await?;
    let mut removed = 0;
    for sql in [
        "DELETE FROM events WHERE occurred_at < $1 AND id < (SELECT MAX(id) FROM events)",
        "DELETE FROM jobs WHERE state IN ('done', 'discarded') AND done_at < $1 AND id < (SELECT MAX(id) FROM jobs)",
        "DELETE FROM webhook_attempts WHERE at < $1 AND id < (SELECT MAX(id) FROM webhook_attempts)",
    ] {
        removed += sqlx::query(sql)
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_type_is_listed_and_internal_entries_have_none() {
        for kind in [
            "released",
            "changed_in_odoo",
            "withdrawn_in_odoo",
            "acknowledged",
            "line_answered",
            "proposal_approved",
            "shipment_announced",
            "shipment_cancelled",
            "document_attached",
            "received",
            "discrepancy",
            "delivery_dead",
        ] {
            let code = public_type(kind).expect(kind);
            assert!(event_type(code).is_some(), "{code} is not in TYPES");
        }
        for internal in ["viewed", "delivered_to_odoo", "delivery_failed", "conflict"] {
            assert_eq!(public_type(internal), None, "{internal}");
        }
        assert!(event_type("delivery.dead_lettered").unwrap().staff_only);
        assert!(event_type("planning.version_approved").unwrap().staff_only);
        assert!(event_type("planning.version_applied").unwrap().staff_only);
        assert!(!event_type("order.acknowledged").unwrap().staff_only);
    }
}

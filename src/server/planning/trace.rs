//! The trace (issue 14, section 5), both directions: from a version, or one item of it, to
//! its demand signals, the Odoo records written from them, the purchase orders that answer
//! them (`planning_signal_orders`, linked by the push and by the poller from `origin`), the
//! suppliers' answers, the shipment notices and the receipts; and from a purchase order
//! back to the signals and versions that caused it. Read only, for staff: buyers limited
//! to some companies see only their companies' orders (an order not synced yet, such as a
//! draft RFQ, shows its Odoo name only).

use std::collections::{BTreeMap, HashMap};

use crate::model::planning_push::SignalView;
use crate::model::planning_trace::{
    Trace, TraceLine, TraceNotice, TraceOrder, TraceReceipt, TraceSignal, TraceVersion,
};
use crate::server::auth::CurrentUser;
use crate::server::companies::CompanyScope;
use crate::server::db::Db;

use super::push;
use super::PlanningError;

/// A version's trace is cut at this many signals unless it is asked for one item.
pub const SIGNALS_SHOWN: usize = 200;

/// Where a trace starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    /// A version (its snapshot id), optionally one item of it.
    Version {
        import_id: i64,
        item: Option<String>,
    },
    /// A purchase order in the portal (`purchase_orders.id`).
    Order(i64),
}

/// The trace for staff (buyers, planners, admins); anyone else is told it does not exist.
pub async fn page(db: &Db, user: &CurrentUser, from: &From) -> Result<Trace, PlanningError> {
    if !user.is_internal() {
        return Err(PlanningError::NotFound);
    }
    trace(db, &user.companies, from)
        .await?
        .ok_or(PlanningError::NotFound)
}

/// The trace as `scope` may see it; None when its start does not exist (or is another
/// company's order).
pub async fn trace(
    db: &Db,
    scope: &CompanyScope,
    from: &From,
) -> Result<Option<Trace>, sqlx::Error> {
    match from {
        From::Version { import_id, item } => {
            let mut versions = versions(db, &[*import_id]).await?;
            let Some(mut version) = versions.pop() else {
                return Ok(None);
            };
            let item = item.as_deref().map(str::trim).filter(|i| !i.is_empty());
            let (signals, truncated_at) = match item {
                Some(item) => (push::signals_for_item(db, *import_id, item).await?, None),
                None => {
                    let (signals, total) =
                        push::signals_leading_first(db, *import_id, SIGNALS_SHOWN).await?;
                    (signals, (total > SIGNALS_SHOWN).then_some(SIGNALS_SHOWN))
                }
            };
            version.signals = with_orders(db, scope, signals, None).await?;
            Ok(Some(Trace {
                order: None,
                versions: vec![version],
                truncated_at,
            }))
        }
        From::Order(order_id) => {
            let found: Option<(i64,)> = sqlx::query_as(&format!(
                "SELECT o.odoo_id FROM purchase_orders o WHERE o.id = $1{}",
                scope.condition("o.id")
            ))
            .bind(order_id)
            .fetch_optional(db)
            .await?;
            let Some((odoo_id,)) = found else {
                return Ok(None);
            };
            let signals = push::signals_for_order(db, odoo_id).await?;
            let mut ids: Vec<i64> = signals.iter().map(|s| s.import_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut versions = versions(db, &ids).await?;
            let traced = with_orders(db, scope, signals, Some(odoo_id)).await?;
            for s in traced {
                if let Some(v) = versions
                    .iter_mut()
                    .find(|v| v.import_id == s.signal.import_id)
                {
                    v.signals.push(s);
                }
            }
            // The order itself, with all its lines: where the plan asked for this item.
            let order = orders(db, scope, &[(0, odoo_id, String::new())])
                .await?
                .remove(&0)
                .and_then(|mut o| o.pop())
                .map(Ordered::into_order);
            Ok(Some(Trace {
                order,
                versions,
                truncated_at: None,
            }))
        }
    }
}

/// The references of the signals an order (the portal's id) answers, for the order page's
/// link to its trace. The caller has checked that the user may see the order.
pub async fn references_for_order(db: &Db, order_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT s.reference FROM planning_signal_orders so
         JOIN purchase_orders o ON o.odoo_id = so.order_odoo_id
         JOIN planning_signals s ON s.id = so.signal_id
         WHERE o.id = $1 ORDER BY s.id",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Integers we stored, written into the SQL as numbers (never text from a request).
fn list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    kind: String,
    version: Option<i64>,
    source: String,
    file_name: String,
    status: String,
    sent_at: String,
    approved_at: Option<String>,
    approved_by: Option<String>,
    correlation_id: String,
}

/// The versions' headers, newest first, without signals.
async fn versions(db: &Db, ids: &[i64]) -> Result<Vec<TraceVersion>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<VersionRow> = sqlx::query_as(&format!(
        "SELECT i.id, i.kind, i.version, i.source, i.file_name, i.status, i.sent_at, i.approved_at,
                COALESCE(a.display_name, 'rule: ' || i.approved_rule) AS approved_by, i.correlation_id
         FROM planning_imports i LEFT JOIN users a ON a.id = i.approved_by
         WHERE i.id IN ({}) ORDER BY i.id DESC",
        list(ids.iter().copied())
    ))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TraceVersion {
            import_id: r.id,
            kind: r.kind,
            version: r.version,
            source: r.source,
            file_name: r.file_name,
            status: r.status,
            sent_at: r.sent_at,
            approved_at: r.approved_at,
            approved_by: r.approved_by,
            correlation_id: r.correlation_id,
            signals: Vec::new(),
        })
        .collect())
}

/// Each signal with the orders that answer it (only `only_order` when given), each order
/// with its lines for the signal's product.
async fn with_orders(
    db: &Db,
    scope: &CompanyScope,
    signals: Vec<SignalView>,
    only_order: Option<i64>,
) -> Result<Vec<TraceSignal>, sqlx::Error> {
    let links: Vec<(i64, i64, String)> = signals
        .iter()
        .flat_map(|s| {
            s.orders
                .iter()
                .filter(|(odoo_id, _)| only_order.is_none_or(|o| o == *odoo_id))
                .map(|(odoo_id, name)| (s.id, *odoo_id, name.clone()))
        })
        .collect();
    let mut by_signal = orders(db, scope, &links).await?;
    let mut out = Vec::with_capacity(signals.len());
    for signal in signals {
        let mut orders = by_signal.remove(&signal.id).unwrap_or_default();
        for o in &mut orders {
            o.lines
                .retain(|l| l.item_product == Some(signal.product_odoo_id));
        }
        out.push(TraceSignal {
            signal,
            orders: orders.into_iter().map(Ordered::into_order).collect(),
        });
    }
    Ok(out)
}

/// An order while it is put together: its lines know their product.
struct Ordered {
    order: TraceOrder,
    lines: Vec<Line>,
}

struct Line {
    item_product: Option<i64>,
    line: TraceLine,
}

impl Ordered {
    fn into_order(self) -> TraceOrder {
        TraceOrder {
            lines: self.lines.into_iter().map(|l| l.line).collect(),
            ..self.order
        }
    }
}

/// The orders of `links` (signal id, Odoo order id, Odoo name) by signal, with all their
/// lines, notices and receipts. Another company's order is left out; one not in the portal
/// keeps its Odoo name only.
async fn orders(
    db: &Db,
    scope: &CompanyScope,
    links: &[(i64, i64, String)],
) -> Result<HashMap<i64, Vec<Ordered>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<Ordered>> = HashMap::new();
    if links.is_empty() {
        return Ok(out);
    }
    // One read: each synced order with its supplier, and whether `scope` may see it.
    let visible_sql = scope
        .predicate("o.id")
        .map(|p| format!("CASE WHEN {p} THEN 1 ELSE 0 END"))
        .unwrap_or_else(|| "1".into());
    let rows: Vec<(i64, i64, String, String, String, i64)> = sqlx::query_as(&format!(
        "SELECT o.id, o.odoo_id, o.name, o.status, s.name, {visible_sql} FROM purchase_orders o
         JOIN suppliers s ON s.id = o.supplier_id WHERE o.odoo_id IN ({})",
        list(links.iter().map(|l| l.1))
    ))
    .fetch_all(db)
    .await?;
    let visible: Vec<i64> = rows.iter().filter(|r| r.5 == 1).map(|r| r.0).collect();
    let synced: HashMap<i64, (i64, String, String, String)> = rows
        .into_iter()
        .map(|r| (r.1, (r.0, r.2, r.3, r.4)))
        .collect();
    let lines = all_lines(db, &visible).await?;
    let receipts = receipts_of(db, &visible).await?;
    for (signal, odoo_id, name) in links {
        let order = match synced.get(odoo_id) {
            Some((id, _, _, _)) if !visible.contains(id) => continue,
            Some((id, portal_name, status, supplier)) => Ordered {
                order: TraceOrder {
                    odoo_id: *odoo_id,
                    name: portal_name.clone(),
                    order_id: Some(*id),
                    supplier: Some(supplier.clone()),
                    status: Some(status.clone()),
                    lines: Vec::new(),
                    receipts: receipts.get(id).cloned().unwrap_or_default(),
                },
                lines: lines
                    .get(id)
                    .map(|ls| {
                        ls.iter()
                            .map(|l| Line {
                                item_product: l.item_product,
                                line: l.line.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            None => Ordered {
                order: TraceOrder {
                    odoo_id: *odoo_id,
                    name: name.clone(),
                    order_id: None,
                    supplier: None,
                    status: None,
                    lines: Vec::new(),
                    receipts: Vec::new(),
                },
                lines: Vec::new(),
            },
        };
        out.entry(*signal).or_default().push(order);
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    order_id: i64,
    product_odoo_id: Option<i64>,
    product_code: String,
    description: String,
    quantity: String,
    uom: String,
    date_planned: Option<String>,
    answer: Option<String>,
    proposed_date: Option<String>,
    proposed_quantity: Option<String>,
    qty_received: String,
}

/// The orders' lines (not removed in Odoo) with their shipment notices, by order.
async fn all_lines(db: &Db, orders: &[i64]) -> Result<BTreeMap<i64, Vec<Line>>, sqlx::Error> {
    let mut out: BTreeMap<i64, Vec<Line>> = BTreeMap::new();
    if orders.is_empty() {
        return Ok(out);
    }
    let rows: Vec<LineRow> = sqlx::query_as(&format!(
        "SELECT l.id, l.order_id, l.product_odoo_id, l.product_code, l.description, l.quantity, l.uom,
                l.date_planned, l.answer, l.proposed_date, l.proposed_quantity, l.qty_received
         FROM purchase_order_lines l
         WHERE l.order_id IN ({}) AND l.removed_in_odoo = FALSE AND l.product_odoo_id IS NOT NULL
         ORDER BY l.order_id, l.sequence, l.id",
        list(orders.iter().copied())
    ))
    .fetch_all(db)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut notices: HashMap<i64, Vec<TraceNotice>> = HashMap::new();
    if !ids.is_empty() {
        let found: Vec<(i64, i64, String, String, String, String)> = sqlx::query_as(&format!(
            "SELECT sl.line_id, n.id, n.number, n.status, sl.quantity, n.expected_arrival
             FROM shipment_notice_lines sl JOIN shipment_notices n ON n.id = sl.notice_id
             WHERE sl.line_id IN ({}) ORDER BY n.id",
            list(ids)
        ))
        .fetch_all(db)
        .await?;
        for (line, id, number, status, quantity, expected_arrival) in found {
            notices.entry(line).or_default().push(TraceNotice {
                id,
                number,
                status,
                quantity,
                expected_arrival,
            });
        }
    }
    let day = |d: Option<String>| d.map(|d| d.chars().take(10).collect::<String>());
    for r in rows {
        out.entry(r.order_id).or_default().push(Line {
            item_product: r.product_odoo_id,
            line: TraceLine {
                line_id: r.id,
                item: r.product_code,
                description: r.description,
                quantity: r.quantity,
                unit: r.uom,
                requested_date: day(r.date_planned),
                answer: r.answer,
                proposed_date: day(r.proposed_date),
                proposed_quantity: r.proposed_quantity,
                received_quantity: r.qty_received,
                notices: notices.remove(&r.id).unwrap_or_default(),
            },
        });
    }
    Ok(out)
}

/// The orders' receipts in Odoo, by order.
async fn receipts_of(
    db: &Db,
    orders: &[i64],
) -> Result<HashMap<i64, Vec<TraceReceipt>>, sqlx::Error> {
    let mut out: HashMap<i64, Vec<TraceReceipt>> = HashMap::new();
    if orders.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT order_id, name, state, date_done FROM receipts WHERE order_id IN ({}) ORDER BY id",
        list(orders.iter().copied())
    ))
    .fetch_all(db)
    .await?;
    for (order, name, state, date_done) in rows {
        out.entry(order).or_default().push(TraceReceipt {
            name,
            state,
            date_done,
        });
    }
    Ok(out)
}

//! The trace page's server function (`server::planning::trace`): staff only; times in the
//! user's zone.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::model::planning_trace::Trace;

/// The trace from a version (`version`: its snapshot id, `item`: one item of it) or back
/// from an order (`order`: the portal's order id).
#[server(endpoint = "planning/trace", input = GetUrl)]
pub async fn planning_trace(
    version: Option<i64>,
    item: Option<String>,
    order: Option<i64>,
) -> Result<Trace, AppError> {
    use super::context;
    use crate::server::planning::trace::{self, From};
    let user = context::internal_user()?;
    let state = context::state()?;
    let from = match (version, order) {
        (Some(import_id), None) => From::Version { import_id, item },
        (None, Some(order)) => From::Order(order),
        _ => {
            return Err(context::invalid(
                "Open the trace from a version (version=<id>, optionally item=<code>) or from an order (order=<id>).",
            ))
        }
    };
    let mut t = trace::page(&state.db, &user, &from)
        .await
        .map_err(|e| context::action(e, "Nothing to trace: no such version or order."))?;
    let clock = user.clock();
    for v in &mut t.versions {
        v.sent_at = clock.datetime(&v.sent_at);
        v.approved_at = clock.opt(v.approved_at.take());
        for s in &mut v.signals {
            s.signal.applied_at = clock.opt(s.signal.applied_at.take());
            for o in &mut s.orders {
                for r in &mut o.receipts {
                    r.date_done = clock.opt(r.date_done.take());
                }
            }
        }
    }
    if let Some(o) = &mut t.order {
        for r in &mut o.receipts {
            r.date_done = clock.opt(r.date_done.take());
        }
    }
    Ok(t)
}

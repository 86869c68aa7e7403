//! `/planning/trace`: one page for both directions of the trace (issue 14, section 5). From
//! a version (`?version=<id>`, optionally `&item=<code>`): its demand signals, the Odoo
//! records written from them, the purchase orders that answer them, the suppliers' answers,
//! shipment notices and receipts. From an order (`?order=<id>`, linked from the order page
//! for staff): the versions and signals that caused it. Staff only; plain links and a GET
//! form, so it works before hydration.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::planning_trace::planning_trace;
use crate::model::planning_trace::{Trace, TraceLine, TraceOrder, TraceSignal, TraceVersion};

#[component]
pub fn TracePage() -> impl IntoView {
    let query = use_query_map();
    let arg = move |k: &'static str| query.with(|q| q.get(k)).filter(|v| !v.trim().is_empty());
    let asked = move || {
        (
            arg("version").and_then(|v| v.trim().parse::<i64>().ok()),
            arg("item"),
            arg("order").and_then(|v| v.trim().parse::<i64>().ok()),
        )
    };
    let data = Resource::new(asked, |(version, item, order)| {
        planning_trace(version, item, order)
    });
    view! {
        <h1>"Trace"</h1>
        <p class="hint">"From a forecast or supply version to what Odoo and the suppliers made of it, or from a purchase order back to the plan that asked for it."</p>
        {move || asked().0.map(|version| view! {
            <form method="get" action="/planning/trace" class="inline" data-testid="trace-item-form">
                <input type="hidden" name="version" value=version.to_string()/>
                <label for="trace-item">"Item"</label>
                <input id="trace-item" name="item" value=asked().1.unwrap_or_default() placeholder="e.g. MC-1003"/>
                <button type="submit">"Trace this item"</button>
                <a href=format!("/planning/trace?version={version}")>"All items"</a>
            </form>
        })}
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="banner error" role="alert" data-testid="trace-error">{e.to_string()}</p> }.into_any(),
                Ok(t) => view! { <TraceView trace=t/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn TraceView(trace: Trace) -> impl IntoView {
    let backward = trace.order.is_some();
    let none = trace.versions.is_empty();
    view! {
        {trace.order.map(|o| view! {
            <section class="card" data-testid="trace-start-order">
                <h2>{format!("Order {}", o.name)}</h2>
                <OrderFacts order=o.clone()/>
                <Lines lines=o.lines.clone()/>
            </section>
        })}
        {(backward && none).then(|| view! {
            <p data-testid="trace-none">"No demand signal of the portal asked for this order: it was not created from a reordering rule or RFQ the portal wrote."</p>
        })}
        {backward.then(|| view! { <h2>"Planned by"</h2> })}
        {trace.truncated_at.map(|n| view! {
            <p class="hint" data-testid="trace-truncated">{format!("The first {n} signals are shown (those that led to orders first): trace one item to see all of its.")}</p>
        })}
        {trace.versions.into_iter().map(|v| view! { <VersionTrace version=v/> }).collect_view()}
    }
}

#[component]
fn VersionTrace(version: TraceVersion) -> impl IntoView {
    let v = version;
    let title = match v.version {
        Some(n) => format!("{} version {n} · {}", v.kind, v.source),
        None => format!("{} snapshot #{} · {}", v.kind, v.import_id, v.source),
    };
    let approved = v.approved_by.clone().map(|by| {
        format!(
            "approved by {by} at {}",
            v.approved_at.clone().unwrap_or_default()
        )
    });
    let empty = v.signals.is_empty();
    view! {
        <section class="card" data-testid="trace-version" data-version=v.import_id.to_string()>
            <h3>{title}</h3>
            <p>
                {format!("{} · sent {} · {}", v.file_name, v.sent_at, v.status)}
                {approved.map(|a| format!(" · {a}"))}
                <br/><small>"Correlation id "<code data-testid="trace-correlation">{v.correlation_id.clone()}</code></small>
            </p>
            <p><a href=format!("/planning/signals/{}", v.import_id)>"Every signal of this version"</a></p>
            {empty.then(|| view! { <p data-testid="trace-no-signals">"No signals: the version is not approved, or nothing matches the item."</p> })}
            {v.signals.into_iter().map(|s| view! { <SignalTrace signal=s/> }).collect_view()}
        </section>
    }
}

#[component]
fn SignalTrace(signal: TraceSignal) -> impl IntoView {
    let s = signal.signal;
    let asks = if s.kind == "rule" {
        format!(
            "reordering rule: min {} / max {}{}",
            s.min_qty.clone().unwrap_or_default(),
            s.max_qty.clone().unwrap_or_default(),
            s.quantity
                .clone()
                .map(|q| format!(", to order {q}"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "draft RFQ for {}{}",
            s.quantity.clone().unwrap_or_default(),
            s.need_by
                .clone()
                .map(|d| format!(" by {d}"))
                .unwrap_or_default()
        )
    };
    let odoo = match (&s.odoo_model, &s.odoo_name, s.odoo_id) {
        (Some(m), Some(n), Some(i)) => format!("{n} ({m} #{i})"),
        (Some(m), None, Some(i)) => format!("{m} #{i}"),
        _ => "not written yet".to_string(),
    };
    let no_orders = signal.orders.is_empty();
    view! {
        <div class="trace-signal" data-testid="trace-signal" data-reference=s.reference.clone() data-state=s.state.clone()>
            <h4><code>{s.reference.clone()}</code>{format!(" · {} @ {}", s.item_code, s.location_code)}</h4>
            <p>{format!("Asks Odoo for a {asks} · {} · in Odoo: ", s.state)}<span data-testid="trace-odoo-record">{odoo}</span>
                {s.applied_at.clone().map(|a| format!(" · written {a}"))}
                {s.problem.clone().map(|p| view! { <br/><small>{p}</small> })}
            </p>
            {no_orders.then(|| view! { <p class="hint">"No purchase order answers this signal yet."</p> })}
            {signal.orders.into_iter().map(|o| view! { <OrderTrace order=o/> }).collect_view()}
        </div>
    }
}

#[component]
fn OrderFacts(order: TraceOrder) -> impl IntoView {
    let o = order;
    let link = o.order_id.map(|id| format!("/orders/{id}"));
    view! {
        <p>
            {match link {
                Some(href) => view! { <a href=href data-testid="trace-order-link">{o.name.clone()}</a> }.into_any(),
                None => view! { <strong>{o.name.clone()}</strong> }.into_any(),
            }}
            {match (&o.supplier, &o.status) {
                (Some(s), Some(st)) => format!(" · {s} · {st}"),
                _ => " · in Odoo only (a draft RFQ, or not synced yet)".to_string(),
            }}
        </p>
        {(!o.receipts.is_empty()).then(|| view! {
            <p data-testid="trace-receipts">"Receipts: "
                {o.receipts.iter().map(|r| view! {
                    <span data-testid="trace-receipt">{format!("{} ({}{}) ", r.name, r.state, r.date_done.clone().map(|d| format!(", done {d}")).unwrap_or_default())}</span>
                }).collect_view()}
            </p>
        })}
    }
}

#[component]
fn OrderTrace(order: TraceOrder) -> impl IntoView {
    let name = order.name.clone();
    let lines = order.lines.clone();
    view! {
        <div class="trace-order" data-testid="trace-order" data-name=name>
            <OrderFacts order=order/>
            <Lines lines/>
        </div>
    }
}

#[component]
fn Lines(lines: Vec<TraceLine>) -> impl IntoView {
    if lines.is_empty() {
        return ().into_any();
    }
    view! {
        <div class="table-scroll">
        <table class="data" data-testid="trace-lines">
            <thead><tr><th>"Item"</th><th>"Ordered"</th><th>"Wanted"</th><th>"Supplier's answer"</th><th>"Shipment notices"</th><th>"Received"</th></tr></thead>
            <tbody>
            {lines.into_iter().map(|l| {
                let answer = match l.answer.as_deref() {
                    None => "not answered".to_string(),
                    Some(a) => {
                        let mut s = a.replace('_', " ");
                        if let Some(d) = &l.proposed_date { s.push_str(&format!(", date {d}")); }
                        if let Some(q) = &l.proposed_quantity { s.push_str(&format!(", quantity {q}")); }
                        s
                    }
                };
                let notices = l.notices.iter().map(|n| format!("{} {} ({}, arriving {})", n.number, n.quantity, n.status, n.expected_arrival)).collect::<Vec<_>>().join("; ");
                view! {
                    <tr data-testid="trace-line">
                        <td>{format!("{} {}", l.item, l.description)}</td>
                        <td>{format!("{} {}", l.quantity, l.unit)}</td>
                        <td>{l.requested_date.clone().unwrap_or_default()}</td>
                        <td data-testid="trace-answer">{answer}</td>
                        <td data-testid="trace-notices">{notices}</td>
                        <td>{l.received_quantity.clone()}</td>
                    </tr>
                }
            }).collect_view()}
            </tbody>
        </table>
        </div>
    }.into_any()
}

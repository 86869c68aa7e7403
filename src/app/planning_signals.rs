//! `/planning/signals/{version}`: a version's demand signals (for buyers, planners and
//! admins): state, the Odoo record written, conflicts with both values and the decision
//! (plain forms, so they work before hydration), dead ones with a retry.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::CsrfField;
use crate::api::planning_push::planning_signals;
use crate::model::planning_push::SignalView;

#[component]
pub fn SignalsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or_default()
    };
    let data = Resource::new(id, planning_signals);
    let said = move |k: &'static str| query.with(|q| q.get(k)).filter(|m| !m.is_empty());
    view! {
        <h1>"Demand signals"</h1>
        <p><a href=move || format!("/planning/versions/{}", id())>"Back to the version"</a></p>
        {move || said("saved").map(|m| view! { <p class="banner ok" role="status" data-testid="signals-saved">{m}</p> })}
        {move || said("error").map(|m| view! { <p class="banner error" role="alert" data-testid="signals-error">{m}</p> })}
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p data-testid="signals-none">"No signals: this version is not approved, or it asks nothing of Odoo."</p>
                }.into_any(),
                Ok(list) => view! { <SignalTable list/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SignalTable(list: Vec<SignalView>) -> impl IntoView {
    let count = |s: &str| list.iter().filter(|x| x.state == s).count();
    let summary = format!(
        "{} signals: {} applied, {} unchanged, {} pending, {} conflicts, {} dead",
        list.len(),
        count("applied"),
        count("unchanged"),
        count("pending"),
        count("conflict"),
        count("dead")
    );
    view! {
        <p data-testid="signals-summary">{summary}</p>
        <div class="table-scroll">
        <table class="data" data-testid="signals">
            <thead><tr>
                <th>"Signal"</th><th>"Item @ location"</th><th>"Portal asks"</th><th>"State"</th><th>"In Odoo"</th><th>"Decision"</th>
            </tr></thead>
            <tbody>
            {list.into_iter().map(|s| {
                let asks = if s.kind == "rule" {
                    format!("min {} / max {}{}", s.min_qty.clone().unwrap_or_default(), s.max_qty.clone().unwrap_or_default(),
                        s.quantity.clone().map(|q| format!(", to order {q}")).unwrap_or_default())
                } else {
                    format!("RFQ for {}{}", s.quantity.clone().unwrap_or_default(),
                        s.need_by.clone().map(|d| format!(" by {d}")).unwrap_or_default())
                };
                let odoo = match (&s.odoo_name, s.odoo_id) {
                    (Some(n), Some(i)) => format!("{n} (#{i})"),
                    (None, Some(i)) => format!("#{i}"),
                    _ => String::new(),
                };
                let orders = s.orders.iter().map(|o| o.1.clone()).collect::<Vec<_>>().join(", ");
                let conflict = (s.state == "conflict").then(|| format!(
                    "Odoo now: min {} / max {} ({} trigger)",
                    s.odoo_min.clone().unwrap_or_default(), s.odoo_max.clone().unwrap_or_default(), s.odoo_trigger.clone().unwrap_or_default()));
                let id = s.id;
                let state = s.state.clone();
                view! {
                    <tr data-testid="signal" data-reference=s.reference.clone() data-state=s.state.clone()>
                        <td><code>{s.reference.clone()}</code><br/><small>{s.correlation_id.clone()}</small></td>
                        <td>{format!("{} @ {}", s.item_code, s.location_code)}</td>
                        <td>{asks}</td>
                        <td>{s.state.clone()}{s.problem.clone().map(|p| view! { <br/><small>{p}</small> })}</td>
                        <td>{odoo}{conflict.map(|c| view! { <br/><strong>{c}</strong> })}
                            {(!orders.is_empty()).then(|| view! { <br/><small>{format!("Orders: {orders}")}</small> })}</td>
                        <td>
                            {(state == "conflict").then(|| view! {
                                <form method="post" action=format!("/planning/signals/{id}/apply") class="inline">
                                    <CsrfField/>
                                    <button type="submit" data-testid="signal-apply">"Apply portal value"</button>
                                </form>
                                <form method="post" action=format!("/planning/signals/{id}/keep") class="inline">
                                    <CsrfField/>
                                    <button type="submit" data-testid="signal-keep">"Keep Odoo value"</button>
                                </form>
                            })}
                            {(state == "dead").then(|| view! {
                                <form method="post" action=format!("/planning/signals/{id}/retry") class="inline">
                                    <CsrfField/>
                                    <button type="submit" data-testid="signal-retry">"Push again"</button>
                                </form>
                                <form method="post" action=format!("/planning/signals/{id}/discard") class="inline">
                                    <CsrfField/>
                                    <button type="submit" data-testid="signal-discard">"Give up"</button>
                                </form>
                            })}
                        </td>
                    </tr>
                }
            }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

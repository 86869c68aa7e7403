//! The buyer's exceptions: one screen with what needs the purchasing team.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{CsrfField, IdempotencyField};
use crate::api::exceptions::{exceptions, DecideProposal, ResolveConflict};
use crate::api::sync::{DiscardDeadLetter, ReplayDeadLetter};
use crate::domain::order::LineAnswerState;

/// Says that a list shows only the most pressing of its entries.
#[component]
fn ShownOf(shown: usize, total: usize) -> impl IntoView {
    (total > shown).then(|| {
        view! {
            <p class="sub" data-testid="shown-of">
                {format!("Showing the {shown} most pressing of {total}; the CSV export has them all.")}
            </p>
        }
    })
}

#[component]
pub fn ExceptionsPage() -> impl IntoView {
    let query = use_query_map();
    let supplier = move || query.with(|q| q.get("supplier")).unwrap_or_default();
    let buyer = move || query.with(|q| q.get("buyer")).unwrap_or_default();
    let decide = ServerAction::<DecideProposal>::new();
    let replay = ServerAction::<ReplayDeadLetter>::new();
    let discard = ServerAction::<DiscardDeadLetter>::new();
    let resolve = ServerAction::<ResolveConflict>::new();
    let data = Resource::new(
        move || {
            (
                supplier(),
                buyer(),
                decide.version().get(),
                replay.version().get(),
                discard.version().get(),
                resolve.version().get(),
            )
        },
        |(s, b, ..)| exceptions(s, b),
    );
    let error = move || {
        super::answered(decide)()
            .and_then(|r| r.err())
            .or_else(|| super::answered(replay)().and_then(|r| r.err()))
            .or_else(|| super::answered(discard)().and_then(|r| r.err()))
            .or_else(|| super::answered(resolve)().and_then(|r| r.err()))
            .map(|e| e.to_string())
    };
    view! {
        <h1>"Exceptions"</h1>
        <p class="error" role="alert" data-testid="exceptions-error">{error}</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading exceptions…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(x) => {
                    let current = supplier();
                    let current_buyer = buyer();
                    let csv_query = format!("supplier={}&buyer={}", super::url_encode(&current), super::url_encode(&current_buyer));
                    view! {
                        <form method="get" action="/buyer/exceptions" class="filters">
                            <div class="field">
                                <label for="supplier">"Supplier"</label>
                                <select id="supplier" name="supplier">
                                    <option value="" selected=current.is_empty()>"All suppliers"</option>
                                    {x.suppliers.iter().map(|s| view! { <option value=s.id selected=current == s.id.to_string()>{s.name.clone()}</option> }).collect_view()}
                                </select>
                            </div>
                            <div class="field">
                                <label for="buyer">"Buyer"</label>
                                <select id="buyer" name="buyer">
                                    <option value="" selected=current_buyer.is_empty()>"All buyers"</option>
                                    {x.buyers.iter().map(|b| view! { <option value=b.clone() selected=current_buyer == *b>{b.clone()}</option> }).collect_view()}
                                </select>
                            </div>
                            <button type="submit">"Apply"</button>
                            <a class="button" href=format!("/buyer/exceptions.csv?{csv_query}") download data-testid="csv">"Export CSV"</a>
                        </form>
                        <nav class="chips" aria-label="Counts">
                            <a href="#proposals">"Proposals to decide " <strong data-testid="count-proposals">{x.totals.proposals}</strong></a>
                            <a href="#late">"Late acknowledgments " <strong data-testid="count-late">{x.totals.late_acknowledgments}</strong></a>
                            <a href="#risk">"At-risk deliveries " <strong data-testid="count-risk">{x.totals.at_risk}</strong></a>
                            <a href="#received">"Shipment vs receipt " <strong data-testid="count-received">{x.totals.discrepancies}</strong></a>
                            <a href="#conflicts">"Conflicts " <strong data-testid="count-conflicts">{x.totals.conflicts}</strong></a>
                            <a href="#sync">"Sync problems " <strong data-testid="count-sync">{x.totals.sync_problems}</strong></a>
                            <a href="#planning">"Planning " <strong data-testid="count-planning">{x.planning.len()}</strong></a>
                        </nav>

                        <h2 id="proposals">"Proposals awaiting a decision"</h2>
                        <ShownOf shown=x.proposals.len() total=x.totals.proposals/>
                        {move || query.with(|q| q.get("bulk")).filter(|b| b != "none").map(|n| view! {
                            <p class="banner ok" role="status" data-testid="bulk-result">{format!("{n} proposal(s) approved.")}</p>
                        })}
                        {(x.proposals.iter().filter(|p| p.answer == LineAnswerState::ProposalPending).count() > 1).then(|| view! {
                            <form method="post" action="/buyer/proposals/approve" class="card bulk" id="bulk-approve">
                                <CsrfField/>
                                <IdempotencyField/>
                                <p>"Tick proposals below and approve them together."</p>
                                <button type="submit" data-testid="bulk-approve">"Approve ticked proposals"</button>
                            </form>
                        })}
                        {if x.proposals.is_empty() { view! { <p class="empty">"Nothing to decide."</p> }.into_any() } else { view! {
                            <div class="lines">
                                {x.proposals.into_iter().map(|p| {
                                    let line_id = p.line_id;
                                    let rejection = p.answer == LineAnswerState::Rejected;
                                    view! {
                                        <article class="line" data-proposal=p.line_id>
                                            <header>
                                                <h3><a href=format!("/orders/{}", p.order_id)>{p.order_name.clone()}</a>{format!(" · {}", p.description)}</h3>
                                                <span class="sub">{p.supplier_name.clone()}</span>
                                            </header>
                                            <p>{format!("Ordered {} {} for {}", p.quantity, p.uom, p.date_planned.as_deref().and_then(|d| d.get(..10)).unwrap_or("no date"))}</p>
                                            <p><strong>{if rejection { "The supplier cannot deliver: ".to_string() } else {
                                                format!("Proposed: {}{}", p.proposed_date.as_deref().and_then(|d| d.get(..10)).map(|d| format!("date {d} ")).unwrap_or_default(), p.proposed_quantity.clone().map(|q| format!("quantity {q}")).unwrap_or_default())
                                            }}</strong>{format!(" “{}”", p.reason)}</p>
                                            {(!rejection).then(|| view! {
                                                <label class="check"><input type="checkbox" name="line_id" value=line_id form="bulk-approve" data-testid="tick"/>" Include in bulk approval"</label>
                                                <div class="answer">
                                                    <ActionForm action=decide attr:class="inline">
                                                        <CsrfField/>
                                                        <IdempotencyField/>
                                                        <input type="hidden" name="line_id" value=line_id/>
                                                        <input type="hidden" name="decision" value="approve"/>
                                                        <button type="submit" class="primary" data-testid="approve">"Approve"</button>
                                                    </ActionForm>
                                                    <ActionForm action=decide attr:class="form">
                                                        <CsrfField/>
                                                        <IdempotencyField/>
                                                        <input type="hidden" name="line_id" value=line_id/>
                                                        <input type="hidden" name="decision" value="reject"/>
                                                        <label for=format!("reject-{line_id}")>"Reason for rejecting (the supplier reads it)"</label>
                                                        <input id=format!("reject-{line_id}") name="reason"/>
                                                        <button type="submit" data-testid="reject">"Reject"</button>
                                                    </ActionForm>
                                                </div>
                                            })}
                                        </article>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any() }}

                        <h2 id="late">"Not acknowledged in time"</h2>
                        <ShownOf shown=x.late_acknowledgments.len() total=x.totals.late_acknowledgments/>
                        {if x.late_acknowledgments.is_empty() { view! { <p class="empty">"Every order is acknowledged in time."</p> }.into_any() } else { view! {
                            <table class="orders">
                                <thead><tr><th scope="col">"PO"</th><th scope="col">"Supplier"</th><th scope="col">"Released"</th><th scope="col" class="num">"Waiting"</th></tr></thead>
                                <tbody>
                                    {x.late_acknowledgments.into_iter().map(|l| view! {
                                        <tr data-late=l.order_name.clone()>
                                            <td data-label="PO"><a href=format!("/orders/{}", l.order_id)>{l.order_name.clone()}</a></td>
                                            <td data-label="Supplier">{l.supplier_name.clone()}</td>
                                            <td data-label="Released">{l.released_at.get(..16).unwrap_or(&l.released_at).to_string()}" UTC"</td>
                                            <td data-label="Waiting" class="num">{format!("{} h", l.age_hours)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }}

                        <h2 id="risk">"At-risk deliveries"</h2>
                        <ShownOf shown=x.at_risk.len() total=x.totals.at_risk/>
                        {if x.at_risk.is_empty() { view! { <p class="empty">"Every open line is on track."</p> }.into_any() } else { view! {
                            <table class="orders">
                                <thead><tr><th scope="col">"PO"</th><th scope="col">"Supplier"</th><th scope="col">"Line"</th><th scope="col">"Requested"</th><th scope="col">"Why"</th></tr></thead>
                                <tbody>
                                    {x.at_risk.into_iter().map(|r| view! {
                                        <tr data-risk=r.order_name.clone()>
                                            <td data-label="PO"><a href=format!("/orders/{}", r.order_id)>{r.order_name.clone()}</a></td>
                                            <td data-label="Supplier">{r.supplier_name.clone()}</td>
                                            <td data-label="Line">{format!("{} ({} open)", r.description, r.open_quantity)}</td>
                                            <td data-label="Requested">{r.requested.clone()}</td>
                                            <td data-label="Why">{r.why.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }}

                        <h2 id="received">"Received against shipment notices"</h2>
                        <ShownOf shown=x.discrepancies.len() total=x.totals.discrepancies/>
                        {if x.discrepancies.is_empty() { view! { <p class="empty">"Every validated receipt matches its shipment notices."</p> }.into_any() } else { view! {
                            <table class="orders">
                                <thead><tr><th scope="col">"PO"</th><th scope="col">"Supplier"</th><th scope="col">"Line"</th><th scope="col">"What differs"</th></tr></thead>
                                <tbody>
                                    {x.discrepancies.into_iter().map(|d| view! {
                                        <tr data-discrepancy=d.kind.clone()>
                                            <td data-label="PO"><a href=format!("/orders/{}", d.order_id)>{d.order_name.clone()}</a></td>
                                            <td data-label="Supplier">{d.supplier_name.clone()}</td>
                                            <td data-label="Line">{d.description.clone()}</td>
                                            <td data-label="What differs">{d.detail.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }}

                        <h2 id="conflicts">"Conflicts with Odoo"</h2>
                        <ShownOf shown=x.conflicts.len() total=x.totals.conflicts/>
                        {if x.conflicts.is_empty() { view! { <p class="empty">"No answer conflicts with what Odoo holds."</p> }.into_any() } else { view! {
                            <div class="lines">
                                {x.conflicts.into_iter().map(|c| {
                                    let write_back = c.kind == "write_back";
                                    view! {
                                        <article class="line" data-conflict=c.order_name.clone()>
                                            <header>
                                                <h3><a href=format!("/orders/{}", c.order_id)>{c.order_name.clone()}</a></h3>
                                                <span class="sub">{c.supplier_name.clone()}</span>
                                            </header>
                                            <p>{c.summary.clone()}</p>
                                            {(!c.lines.is_empty()).then(|| view! {
                                                <table class="side-by-side">
                                                    <thead><tr><th scope="col">"Line"</th><th scope="col">"The supplier answered"</th><th scope="col">"Odoo holds now"</th></tr></thead>
                                                    <tbody>
                                                        {c.lines.iter().map(|l| view! {
                                                            <tr>
                                                                <td data-label="Line">{l.description.clone()}</td>
                                                                <td data-label="The supplier answered" data-testid="supplier-version">{l.supplier.clone()}</td>
                                                                <td data-label="Odoo holds now" data-testid="odoo-version">{l.odoo.clone()}</td>
                                                            </tr>
                                                        }).collect_view()}
                                                    </tbody>
                                                </table>
                                            })}
                                            {c.reference.clone().map(|r| view! { <p class="hint">"ref " <code>{r}</code></p> })}
                                            <ActionForm action=resolve attr:class="inline actions">
                                                <CsrfField/>
                                                <IdempotencyField/>
                                                <input type="hidden" name="key" value=c.key.clone()/>
                                                {c.can_apply.then(|| view! {
                                                    <button type="submit" name="resolution" value="apply" class="primary" data-testid="apply-supplier">"Apply the supplier's answer to Odoo"</button>
                                                })}
                                                <button type="submit" name="resolution" value="ask_again" data-testid="ask-again">
                                                    {if write_back { "Keep Odoo's version, ask the supplier again" } else { "Ask the supplier to answer again" }}
                                                </button>
                                                {(!write_back).then(|| view! {
                                                    <button type="submit" name="resolution" value="keep_answers" data-testid="keep-answers">"Keep the supplier's answers"</button>
                                                })}
                                            </ActionForm>
                                        </article>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any() }}

                        <h2 id="sync">"Could not be written to Odoo"</h2>
                        <ShownOf shown=x.sync_problems.len() total=x.totals.sync_problems/>
                        {if x.sync_problems.is_empty() { view! { <p class="empty">"Everything reached Odoo."</p> }.into_any() } else { view! {
                            <div class="lines">
                                {x.sync_problems.into_iter().map(|d| {
                                    let id = d.id;
                                    view! {
                                        <article class="line" data-dead=d.correlation_id.clone()>
                                            <header><h3>{format!("{} · {}", d.order_name.clone().unwrap_or_default(), d.kind)}</h3><span class="sub">{d.supplier_name.clone().unwrap_or_default()}</span></header>
                                            <p>{format!("{} after {} attempt(s): {}", d.status, d.attempts, d.error.clone().unwrap_or_default())}</p>
                                            <p class="hint">"ref " <code>{d.correlation_id.clone()}</code></p>
                                            <div class="answer">
                                                <ActionForm action=replay attr:class="inline">
                                                    <CsrfField/>
                                                    <IdempotencyField/>
                                                    <input type="hidden" name="id" value=id/>
                                                    <button type="submit" data-testid="replay">"Send again"</button>
                                                </ActionForm>
                                                <ActionForm action=discard attr:class="form">
                                                    <CsrfField/>
                                                    <IdempotencyField/>
                                                    <input type="hidden" name="id" value=id/>
                                                    <label for=format!("discard-{id}")>"Reason for discarding"</label>
                                                    <input id=format!("discard-{id}") name="reason"/>
                                                    <button type="submit">"Discard"</button>
                                                </ActionForm>
                                            </div>
                                        </article>
                                    }
                                }).collect_view()}
                            </div>
                        }.into_any() }}

                        <h2 id="planning">"Planning"</h2>
                        {if !current.is_empty() { view! { <p class="empty">"Planning data is not one supplier's: clear the supplier filter to see it."</p> }.into_any() }
                         else if x.planning.is_empty() { view! { <p class="empty">"Planning data is mapped, fresh and applied."</p> }.into_any() } else { view! {
                            <div class="lines">
                                {x.planning.into_iter().map(|p| view! {
                                    <article class="line" data-planning=p.kind.clone()>
                                        <header><h3>{if p.link.is_empty() { p.subject.clone().into_any() } else { view! { <a href=p.link.clone()>{p.subject.clone()}</a> }.into_any() }}</h3><span class="sub">{planning_kind(&p.kind)}</span></header>
                                        <p>{p.detail.clone()}</p>
                                        <p class="hint">{format!("since {} UTC", p.since)}</p>
                                    </article>
                                }).collect_view()}
                            </div>
                        }.into_any() }}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// A planning problem's kind, as the page names it.
fn planning_kind(kind: &str) -> &'static str {
    match kind {
        "import_rejected" => "Snapshot refused",
        "unmapped" => "Not mapped",
        "stale" => "Not refreshed",
        "stuck" => "Validation did not finish",
        "pull_failed" => "Scheduled pull failed",
        "signal_conflict" => "Changed in Odoo",
        "signal_dead" => "Not applied in Odoo",
        _ => "Planning",
    }
}

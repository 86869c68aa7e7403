//! The order as a supplier needs it, on the order page: who buys, where to ship, on what
//! terms, the supplier's own reference (which it may set), the buyer's notes, the download
//! of the order as a PDF; and the inbox's company and plant filters.

use leptos::prelude::*;

use super::{CsrfField, IdempotencyField};
use crate::api::order_document::{notice_destinations, OrderHeaderView, SetVendorReference};
use crate::api::AppError;
use crate::model::order_document::OriginOptions;

fn not_set(v: Option<String>) -> String {
    v.unwrap_or_else(|| "Not set".to_string())
}

/// Multi-line text (addresses, notes) as lines.
fn lines(v: Option<String>) -> impl IntoView {
    v.unwrap_or_default()
        .lines()
        .map(|l| view! { <span class="line-of">{l.to_string()}</span> })
        .collect_view()
}

/// The header block of the order page, with the PDF download: `header` is read with the
/// order (`orders::OrderPage`), so the page renders in one pass.
#[component]
pub fn OrderHeaderPanel(order_id: i64, header: Result<OrderHeaderView, AppError>) -> impl IntoView {
    let set_reference = ServerAction::<SetVendorReference>::new();
    let answered = super::answered(set_reference);
    let reference_error = move || answered().and_then(|r| r.err()).map(|e| e.to_string());
    let reference_done = move || answered().and_then(|r| r.ok()).map(|o| o.message);
    view! {
        <p class="document-actions no-print">
            <a href=format!("/orders/{order_id}/pdf") download data-testid="order-pdf">"Download the order (PDF)"</a>
            <span class="hint">" · or print this page: it prints without the menus and forms."</span>
        </p>
        {match header {
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            Ok(h) => view! { <HeaderFacts h=h set_reference=set_reference/> }.into_any(),
        }}
        <p class="ok" role="status" data-testid="reference-done">{reference_done}</p>
        <p class="error" role="alert" data-testid="reference-error">{reference_error}</p>
    }
}

#[component]
fn HeaderFacts(
    h: OrderHeaderView,
    set_reference: ServerAction<SetVendorReference>,
) -> impl IntoView {
    let incoterm = match (h.incoterm.clone(), h.incoterm_location.clone()) {
        (Some(i), Some(l)) => format!("{i}, {l}"),
        (Some(i), None) => i,
        (None, Some(l)) => format!("Not set ({l})"),
        (None, None) => "Not set".into(),
    };
    let order_id = h.order_id;
    let contact: Vec<String> = [
        Some(h.buyer_name.clone()),
        h.buyer_email.clone(),
        h.buyer_phone.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    view! {
        <section class="order-header" aria-label="Who buys, where to ship, on what terms" data-testid="order-header">
            <dl class="facts">
                <div data-testid="ordered-by"><dt>"Ordered by"</dt><dd>
                    <strong>{not_set(h.company_name.clone())}</strong>
                    {lines(h.company_address.clone())}
                    {h.company_vat.clone().map(|v| view! { <span class="line-of">{format!("VAT {v}")}</span> })}
                </dd></div>
                <div data-testid="ship-to" data-ship-to=h.ship_to_kind.clone()><dt>{h.ship_to_label()}</dt><dd>
                    <strong>{not_set(h.ship_to_name.clone())}</strong>
                    {lines(h.ship_to_address.clone())}
                </dd></div>
                <div data-testid="buyer-contact"><dt>"Buyer"</dt><dd>
                    {contact.into_iter().map(|c| view! { <span class="line-of">{c}</span> }).collect_view()}
                </dd></div>
                <div data-testid="payment-terms"><dt>"Payment terms"</dt><dd>{not_set(h.payment_terms.clone())}</dd></div>
                <div data-testid="incoterm"><dt>"Incoterm"</dt><dd>{incoterm}</dd></div>
                <div data-testid="amounts"><dt>"Amounts"</dt><dd>
                    {h.amount_untaxed.clone().map(|a| view! { <span class="line-of">{format!("Untaxed {a} {}", h.currency)}</span> })}
                    {h.amount_tax.clone().map(|a| view! { <span class="line-of">{format!("Taxes {a} {}", h.currency)}</span> })}
                    <span class="line-of"><strong>{format!("Total {} {}", h.amount_total, h.currency)}</strong></span>
                </dd></div>
                <div data-testid="your-reference"><dt>"Your reference"</dt><dd>
                    <span data-testid="reference-value">{not_set(h.partner_ref.clone())}</span>
                    {h.can_set_reference.then(|| view! {
                        <ActionForm action=set_reference attr:class="inline no-print">
                            <CsrfField/>
                            <IdempotencyField/>
                            <input type="hidden" name="order_id" value=order_id/>
                            <label for="reference" class="sr-only">"Your reference"</label>
                            <input id="reference" name="reference" maxlength="64" value=h.partner_ref.clone().unwrap_or_default() data-testid="reference-input"/>
                            <button type="submit" data-testid="reference-save">"Save reference"</button>
                        </ActionForm>
                    })}
                </dd></div>
                <div><dt>"Last changed in Odoo"</dt><dd>{h.odoo_changed_at.clone()}</dd></div>
            </dl>
            {(!h.note_lines.is_empty()).then(|| view! {
                <h2>"Sections and notes on the lines"</h2>
                <ul class="line-notes" data-testid="line-notes">
                    {h.note_lines.iter().map(|n| view! {
                        <li class:section=n.section>{n.text.clone()}</li>
                    }).collect_view()}
                </ul>
            })}
            {h.notes.clone().map(|n| view! {
                <h2>"Terms and conditions"</h2>
                <div class="order-notes" data-testid="order-notes">{lines(Some(n))}</div>
            })}
        </section>
    }
}

/// The company and plant selects of the inbox's filter form, when the supplier's orders
/// come from more than one of either (`origins` is read with the inbox's page).
#[component]
pub fn OriginFilters(
    origins: Option<OriginOptions>,
    company: String,
    plant: String,
) -> impl IntoView {
    origins
        .filter(|o| o.companies.len() > 1 || o.plants.len() > 1)
        .map(|o| {
            view! {
                <div class="field">
                    <label for="company">"Company"</label>
                    <select id="company" name="company">
                        <option value="" selected=company.is_empty()>"All"</option>
                        {o.companies.into_iter().map(|c| {
                            let selected = company == c.value;
                            view! { <option value=c.value selected=selected>{c.label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="plant">"Ship to"</label>
                    <select id="plant" name="plant">
                        <option value="" selected=plant.is_empty()>"All"</option>
                        {o.plants.into_iter().map(|p| {
                            let selected = plant == p.value;
                            view! { <option value=p.value selected=selected>{p.label}</option> }
                        }).collect_view()}
                    </select>
                </div>
            }
        })
}

/// On the new-notice page: when the chosen orders go to different destinations, says so
/// and offers one notice per destination.
#[component]
pub fn DestinationSplit(orders: Signal<Vec<i64>>) -> impl IntoView {
    let groups = Resource::new(
        move || orders.get(),
        |ids| {
            notice_destinations(
                ids.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        },
    );
    view! {
        <Transition fallback=|| ()>
            {move || groups.get().and_then(|r| r.ok()).filter(|g| g.len() > 1).map(|g| view! {
                <div class="banner warn" role="status" data-testid="split-notice">
                    <p>{format!("These orders go to {} different destinations, and a shipment notice goes to one. Announce them one destination at a time:", g.len())}</p>
                    <ul>
                        {g.into_iter().map(|d| view! {
                            <li><a href=d.notice_link() data-testid="split-link">{format!("{}: {}", d.label, d.order_names.join(", "))}</a></li>
                        }).collect_view()}
                    </ul>
                </div>
            })}
        </Transition>
    }
}

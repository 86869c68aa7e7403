//! Shipment notices: the list with cancel, and the new-notice form (choose orders, then
//! quantities, lots or serials, dates, carrier and tracking).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{CsrfField, IdempotencyField};
use crate::api::shipments::{
    list_shipments, open_lines, receipt_prefill_notice, CancelShipment, SubmitShipment,
};
use crate::model::shipments::OpenLine;

use super::day;

#[component]
pub fn ShipmentList() -> impl IntoView {
    let cancel = ServerAction::<CancelShipment>::new();
    let shipments = Resource::new(move || cancel.version().get(), |_| list_shipments());
    let query = use_query_map();
    let created = move || query.with(|q| q.get("created"));
    let uploaded = move || query.with(|q| q.get("uploaded"));
    let upload_error = move || query.with(|q| q.get("error"));
    let cancel_error = move || {
        super::answered(cancel)()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <div class="order-head">
            <h1>"Shipment notices"</h1>
            <a class="button primary" href="/shipments/new">"Announce a shipment"</a>
        </div>
        {move || created().map(|n| view! { <p class="banner ok" role="status" data-testid="created">{format!("{n} sent. The buyer's receipt is prefilled as soon as it reaches their system.")}</p> })}
        <ReceiptNotice/>
        {move || uploaded().map(|m| view! { <p class="banner ok" role="status" data-testid="uploaded">{m}</p> })}
        <p class="error" role="alert" data-testid="upload-error">{upload_error}</p>
        <p class="error" role="alert">{cancel_error}</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading shipment notices…"</p> }>
            {move || shipments.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"No shipment notices yet. Announce one when goods leave your dock."</p> }.into_any(),
                Ok(list) => view! {
                    <div class="lines">
                        {list.into_iter().map(|s| {
                            let cancellable = s.status == "submitted";
                            let id = s.id;
                            view! {
                                <article class="line" data-asn=s.number.clone()>
                                    <header>
                                        <h3>{s.number.clone()}</h3>
                                        <span class=format!("badge asn-{}", s.status)>{s.status.clone()}</span>
                                    </header>
                                    <dl class="facts">
                                        <div><dt>"Ships"</dt><dd>{s.ship_date.clone()}</dd></div>
                                        <div><dt>"Arrives"</dt><dd>{s.expected_arrival.clone()}</dd></div>
                                        <div><dt>"Carrier"</dt><dd>{format!("{} {}", s.carrier, s.tracking_number)}</dd></div>
                                        <div><dt>"Packages"</dt><dd>{s.package_count}</dd></div>
                                    </dl>
                                    <ul>
                                        {s.lines.into_iter().map(|l| view! {
                                            <li>
                                                <a href=format!("/orders/{}", l.order_id)>{l.order_name.clone()}</a>
                                                {format!(" · {} · {} {}", l.description, l.quantity, l.uom)}
                                                {(!l.lot_numbers.is_empty()).then(|| format!(" · {}", l.lot_numbers.join(", ")))}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    {(!s.documents.is_empty()).then(|| view! {
                                        <p class="documents">"Documents: "
                                            {s.documents.iter().map(|d| view! {
                                                <a href=format!("/shipments/{id}/documents/{}", d.id) download>{d.file_name.clone()}</a>
                                                {format!(" ({} KB) ", (d.size_bytes + 1023) / 1024)}
                                            }).collect_view()}
                                        </p>
                                    })}
                                    {cancellable.then(|| view! {
                                        <form method="post" enctype="multipart/form-data" action=format!("/shipments/{id}/documents") class="upload">
                                            <CsrfField/>
                                            <IdempotencyField/>
                                            <label for=format!("file-{id}")>"Attach a document (PDF, PNG or JPEG, up to 10 MB)"</label>
                                            <input id=format!("file-{id}") name="file" type="file" accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg" required/>
                                            <button type="submit" data-testid="upload">"Attach"</button>
                                        </form>
                                    })}
                                    {cancellable.then(|| view! {
                                        <ActionForm action=cancel attr:class="inline">
                                            <CsrfField/>
                                            <IdempotencyField/>
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit" data-testid="cancel-asn">"Cancel this notice"</button>
                                        </ActionForm>
                                    })}
                                </article>
                            }
                        }).collect_view()}
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}

/// Says so when the buyer's Odoo cannot take notices as receipts (no Inventory app).
#[component]
fn ReceiptNotice() -> impl IntoView {
    let notice = Resource::new(|| (), |_| receipt_prefill_notice());
    view! {
        <Transition fallback=|| ()>
            {move || notice.get().and_then(|r| r.ok()).flatten().map(|n| view! {
                <p class="banner" role="note" data-testid="receipt-notice">{n}</p>
            })}
        </Transition>
    }
}

#[component]
pub fn NewShipment() -> impl IntoView {
    let query = use_query_map();
    let chosen = move || {
        query.with(|q| {
            q.get_all("order")
                .unwrap_or_default()
                .into_iter()
                .filter_map(|o| o.parse::<i64>().ok())
                .collect::<Vec<_>>()
        })
    };
    let lines = Resource::new(chosen, |ids| {
        open_lines(
            ids.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
    });
    let submit = ServerAction::<SubmitShipment>::new();
    let error = move || {
        super::answered(submit)()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <p><a href="/shipments">"← Shipment notices"</a></p>
        <h1>"Announce a shipment"</h1>
        <ReceiptNotice/>
        <super::order_document::DestinationSplit orders=Signal::derive(chosen)/>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading your open lines…"</p> }>
            {move || lines.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(lines) if lines.is_empty() => view! { <p class="empty">"Nothing left to ship on your open orders."</p> }.into_any(),
                Ok(lines) if chosen().is_empty() => view! { <ChooseOrders lines=lines/> }.into_any(),
                Ok(lines) => view! {
                    <ActionForm action=submit attr:class="shipment-form">
                        <CsrfField/>
                        <IdempotencyField/>
                        <fieldset>
                            <legend>"Shipment"</legend>
                            <div class="grid">
                                <label>"Ship date"<input name="shipment[ship_date]" type="date" required/></label>
                                <label>"Expected arrival"<input name="shipment[expected_arrival]" type="date" required/></label>
                                <label>"Carrier"<input name="shipment[carrier]" autocomplete="off" required/></label>
                                <label>"Tracking number"<input name="shipment[tracking_number]" autocomplete="off" required/></label>
                                <label>"Packages"<input name="shipment[package_count]" inputmode="numeric" value="1" required/></label>
                            </div>
                        </fieldset>
                        <fieldset>
                            <legend>"What is in it (leave a quantity empty to leave the line out)"</legend>
                            {lines.into_iter().enumerate().map(|(i, l)| view! { <ShipLine index=i line=l/> }).collect_view()}
                        </fieldset>
                        <p class="error" role="alert" data-testid="asn-error">{error}</p>
                        <button type="submit" class="primary" data-testid="submit-asn" disabled=move || submit.pending().get()>"Send shipment notice"</button>
                    </ActionForm>
                }.into_any(),
            })}
        </Transition>
    }
}

/// Step one: pick the orders in this shipment.
#[component]
fn ChooseOrders(lines: Vec<OpenLine>) -> impl IntoView {
    let mut orders: Vec<(i64, String, usize)> = Vec::new();
    for l in &lines {
        match orders.iter_mut().find(|o| o.0 == l.order_id) {
            Some(o) => o.2 += 1,
            None => orders.push((l.order_id, l.order_name.clone(), 1)),
        }
    }
    view! {
        <form method="get" action="/shipments/new" class="card">
            <fieldset>
                <legend>"Which orders are in this shipment?"</legend>
                {orders.into_iter().map(|(id, name, n)| view! {
                    <label class="check"><input type="checkbox" name="order" value=id/>{format!(" {name} · {n} open line(s)")}</label>
                }).collect_view()}
            </fieldset>
            <button type="submit" class="primary">"Continue"</button>
        </form>
    }
}

#[component]
fn ShipLine(index: usize, line: OpenLine) -> impl IntoView {
    let name = |field: &str| format!("shipment[lines][{index}][{field}]");
    let qty_id = format!("qty-{}", line.line_id);
    let lots_id = format!("lots-{}", line.line_id);
    let lots_label = match line.tracking.as_str() {
        "serial" => Some("Serial numbers (one per unit, one per line)"),
        "lot" => Some("Lot number"),
        _ => None,
    };
    view! {
        <div class="ship-line" data-line=line.description.clone()>
            <input type="hidden" name=name("line_id") value=line.line_id/>
            <p><strong>{line.order_name.clone()}</strong>{format!(" · {} · {}", line.product_code, line.description)}</p>
            <p class="hint">{format!("Open: {} {} · requested {}", line.open_quantity, line.uom, line.date_planned.as_deref().map(day).unwrap_or_default())}</p>
            <label for=qty_id.clone()>{format!("Quantity shipped ({})", line.uom)}</label>
            <input id=qty_id name=name("quantity") inputmode="decimal"/>
            {lots_label.map(|label| view! {
                <label for=lots_id.clone()>{label}</label>
                <textarea id=lots_id.clone() name=name("lots")></textarea>
            })}
        </div>
    }
}

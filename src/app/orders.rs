//! The supplier's orders: the inbox with search, filters and pagination, and one order with
//! its lines, the answers, what reached Odoo, and the history.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::order_document::{OrderHeaderPanel, OriginFilters};
use super::{CsrfField, IdempotencyField};
use crate::api::order_document::{get_order_header, order_origins, OrderHeaderView};
use crate::api::orders::{
    get_order, list_orders, AcknowledgeOrder, AnswerLine, LineView, OrderDetail,
};
use crate::api::AppError;
use crate::domain::order::{LineAnswerState, OrderStatus};
use crate::domain::timeline::EventGroup;
use crate::model::orders::OrderFilter;

use super::day;

#[component]
fn StatusBadge(status: OrderStatus) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.code())>{status.label()}</span> }
}

/// The inbox's address with the filter `f` in force, another status and page.
fn inbox_link(f: &OrderFilter, status: &str, page_no: i64) -> String {
    let page = page_no.to_string();
    let pairs = [
        ("q", f.q.as_str()),
        ("status", status),
        ("due_before", f.due_before.as_str()),
        ("company", f.company.as_str()),
        ("plant", f.plant.as_str()),
        ("page", if page_no > 1 { page.as_str() } else { "" }),
    ];
    let qs: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", super::url_encode(v)))
        .collect();
    if qs.is_empty() {
        "/orders".to_string()
    } else {
        format!("/orders?{}", qs.join("&"))
    }
}

#[component]
pub fn OrderList() -> impl IntoView {
    let filter = use_query_map().with_untracked(|q| OrderFilter {
        q: q.get("q").unwrap_or_default(),
        status: q.get("status").unwrap_or_default(),
        due_before: q.get("due_before").unwrap_or_default(),
        page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        company: q.get("company").unwrap_or_default(),
        plant: q.get("plant").unwrap_or_default(),
    });
    // The page and the filter's options, read once while the server renders the page, in
    // one pass (no resource: nothing here reads again in the browser, as on `OrderPage`).
    view! {
        <h1>"Purchase orders"</h1>
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading orders…"</p> }>
            {Suspend::new(async move {
                let origins = order_origins().await.ok();
                let r = list_orders(filter.clone()).await;
                let f = filter;
                view! {
                <form method="get" action="/orders" class="filters" role="search">
                    <div class="field">
                        <label for="q">"Search"</label>
                        <input id="q" name="q" type="search" placeholder="PO number, product or your code" value=f.q.clone()/>
                    </div>
                    <div class="field">
                        <label for="status">"Status"</label>
                        <select id="status" name="status">
                            <option value="" selected=f.status.is_empty()>"All"</option>
                            <option value="action" selected=f.status == "action">"Needs my action"</option>
                            {OrderStatus::ALL.into_iter().map(|s| view! {
                                <option value=s.code() selected=f.status == s.code()>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="due_before">"Due by"</label>
                        <input id="due_before" name="due_before" type="date" value=f.due_before.clone()/>
                    </div>
                    <OriginFilters origins company=f.company.clone() plant=f.plant.clone()/>
                    <button type="submit">"Apply"</button>
                </form>
                {match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(p) => {
                    let current = f.status.clone();
                    view! {
                        <nav class="chips" aria-label="Filter by status">
                            <a href=inbox_link(&f, "action", 1) class:active=current == "action" data-testid="needs-action">
                                "Needs action " <strong>{p.needs_action}</strong>
                            </a>
                            {p.counts.iter().map(|(s, n)| view! {
                                <a href=inbox_link(&f, s.code(), 1) class:active=current == s.code()>{s.label()} " " <strong>{*n}</strong></a>
                            }).collect_view()}
                        </nav>
                        {if p.orders.is_empty() {
                            view! { <p class="empty">"No orders match. Clear the search or filters to see all your orders."</p> }.into_any()
                        } else {
                            view! {
                                <table class="orders">
                                    <caption class="sr-only">"Your purchase orders, newest first"</caption>
                                    <thead><tr><th scope="col">"PO"</th><th scope="col">"Status"</th><th scope="col">"Ordered"</th><th scope="col">"Next due"</th><th scope="col">"Lines"</th><th scope="col" class="num">"Total"</th></tr></thead>
                                    <tbody>
                                        {p.orders.into_iter().map(|o| view! {
                                            <tr data-order=o.name.clone()>
                                                <td data-label="PO"><a href=format!("/orders/{}", o.id)>{o.name.clone()}</a>
                                                    // A GET form, not a link: the row keeps one link, to the order.
                                                    <form method="get" action=format!("/orders/{}/pdf", o.id) class="pdf no-print"><button type="submit" aria-label=format!("{} as PDF", o.name)>"PDF"</button></form>
                                                    <div class="sub">{o.supplier_name.clone()}</div>
                                                    {o.company_name.clone().map(|c| view! { <div class="origin" data-testid="order-company">{c}{o.ship_to_name.clone().map(|s| format!(" · to {s}"))}</div> })}</td>
                                                <td data-label="Status"><StatusBadge status=o.status/></td>
                                                <td data-label="Ordered">{o.date_order.as_deref().map(day)}</td>
                                                <td data-label="Next due">{o.next_due.as_deref().map(day)}</td>
                                                <td data-label="Lines">{o.line_count}</td>
                                                <td data-label="Total" class="num">{format!("{} {}", o.amount_total, o.currency)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                        <nav class="pager" aria-label="Pages">
                            <span>{format!("Page {} of {} · {} orders", p.page, p.page_count, p.total)}</span>
                            {(p.page > 1).then(|| view! { <a href=inbox_link(&f, &current, p.page - 1) rel="prev">"Previous"</a> })}
                            {(p.page < p.page_count).then(|| view! { <a href=inbox_link(&f, &current, p.page + 1) rel="next">"Next"</a> })}
                        </nav>
                    }.into_any()
                }
                }}
            }})}
        </Suspense>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let id = use_params_map()
        .with_untracked(|p| p.get("id").and_then(|i| i.parse::<i64>().ok()))
        .unwrap_or(0);
    let acknowledge = ServerAction::<AcknowledgeOrder>::new();
    let answer = ServerAction::<AnswerLine>::new();
    // Read once, while the server renders the page: no resource, since nothing on this page
    // reads again in the browser (only the `Enhance` island hydrates; a form's answer
    // brings a new page). The order and its header one after the other, in one pass.
    view! {
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading the order…"</p> }>
            {Suspend::new(async move {
                // `Either`, not `into_any`: an `AnyView` copies the whole order view once more
                // into owned values and measures it before it renders.
                let order = match get_order(id).await {
                    Ok(o) => o,
                    Err(e) => return Either::Left(view! {
                        <h1>"Order not available"</h1>
                        <p class="error" role="alert">{e.to_string()}</p>
                        <p><a href="/orders">"Back to your orders"</a></p>
                    }),
                };
                let header = get_order_header(id).await;
                Either::Right(view! { <OrderView order header acknowledge answer/> })
            })}
        </Suspense>
    }
}

#[component]
fn OrderView(
    order: OrderDetail,
    header: Result<OrderHeaderView, AppError>,
    acknowledge: ServerAction<AcknowledgeOrder>,
    answer: ServerAction<AnswerLine>,
) -> impl IntoView {
    let can_answer = order.can_answer();
    let needs_ack =
        can_answer && (order.acknowledged_at.is_none() || order.change_summary.is_some());
    // What each action answered, looked up once for the page.
    let acked = super::answered(acknowledge);
    let line_answered = super::answered(answer);
    let ack_error = move || acked().and_then(|r| r.err()).map(|e| e.to_string());
    let ack_done = move || acked().and_then(|r| r.ok()).map(|o| o.message);
    let answer_done = move || line_answered().and_then(|r| r.ok()).map(|o| o.message);
    let answer_error = move || line_answered().and_then(|r| r.err()).map(|e| e.to_string());
    let order_id = order.id;
    // The timeline's thread to show (`?show=odoo`...): plain links, so the filter works
    // before hydration too.
    let query = use_query_map();
    let show = move || {
        query
            .with(|q| q.get("show"))
            .and_then(|s| EventGroup::from_code(&s))
    };
    let counts: Vec<(EventGroup, usize)> = EventGroup::ALL
        .into_iter()
        .map(|g| {
            (
                g,
                order.events.iter().filter(|e| e.group == g.code()).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let total_events = order.events.len();
    let all_events = order.events.clone();
    let pending = order
        .deliveries
        .iter()
        .filter(|d| d.status == "pending")
        .count();
    let delivered = order
        .deliveries
        .iter()
        .filter(|d| d.status == "delivered")
        .count();
    let stuck = order
        .deliveries
        .iter()
        .filter(|d| matches!(d.status.as_str(), "dead" | "conflict"))
        .count();
    view! {
        <p><a href="/orders">"← All orders"</a></p>
        <div class="order-head">
            <h1>{order.name.clone()}</h1>
            <StatusBadge status=order.status/>
        </div>
        <dl class="facts">
            <div><dt>"Customer buyer"</dt><dd>{order.buyer_name.clone()}</dd></div>
            <div><dt>"Supplier"</dt><dd>{order.supplier_name.clone()}</dd></div>
            <div><dt>"Ordered"</dt><dd>{order.date_order.clone()}</dd></div>
            <div><dt>"Total"</dt><dd>{format!("{} {}", order.amount_total, order.currency)}</dd></div>
            <div><dt>"Acknowledged"</dt><dd data-testid="acknowledged">{match (&order.acknowledged_at, &order.acknowledged_by) {
                (Some(at), by) => format!("{at} by {}", by.clone().unwrap_or_default()),
                (None, _) => "Not yet".to_string(),
            }}</dd></div>
            {(!order.planned_by.is_empty()).then(|| view! {
                <div><dt>"Planned by"</dt><dd data-testid="planned-by">{order.planned_by.join(", ")}" · "
                    <a href=format!("/planning/trace?order={}", order.id) data-testid="trace-link">"Trace back to the forecast"</a></dd></div>
            })}
            <div><dt>"Tolerance"</dt><dd>{format!("±{} days, ±{}% quantity: proposals inside are accepted at once", order.tolerance_days, order.tolerance_percent)}</dd></div>
        </dl>
        <OrderHeaderPanel order_id=order.id header=header/>
        {order.change_summary.clone().map(|c| view! {
            <div class="banner warn" role="status" data-testid="changed-in-odoo">
                <strong>"The buyer changed this order after your answer: "</strong>{c}
                <p>"Review the lines and acknowledge again."</p>
            </div>
        })}
        <p class="sync" data-testid="odoo-sync" aria-live="polite">
            {if order.deliveries.is_empty() {
                "Nothing sent to the buyer's system yet.".to_string()
            } else if stuck > 0 {
                format!("{stuck} update(s) could not be applied in the buyer's system; the buyer has been told.")
            } else if pending > 0 {
                format!("{pending} update(s) on the way to the buyer's system; {delivered} arrived.")
            } else {
                format!("All {delivered} update(s) arrived in the buyer's system.")
            }}
        </p>
        {needs_ack.then(|| view! {
            <ActionForm action=acknowledge attr:class="ack">
                <CsrfField/>
                <IdempotencyField/>
                <input type="hidden" name="order_id" value=order_id/>
                <button type="submit" class="primary" data-testid="acknowledge">"Acknowledge order"</button>
                <span class="hint">"Accepts every line you have not answered, as ordered."</span>
            </ActionForm>
        })}
        <p class="ok" role="status" data-testid="ack-done">{ack_done}</p>
        <p class="error" role="alert">{ack_error}</p>
        <h2 id="lines">"Lines"</h2>
        <p class="ok" role="status" data-testid="answer-done">{answer_done}</p>
        <p class="error" role="alert" data-testid="answer-error">{answer_error}</p>
        <div class="lines" inner_html=line_cards(&order.lines, order_id, can_answer)></div>
        {(!order.receipts.is_empty()).then(|| view! {
            <h2>"Receipts at the buyer's warehouse"</h2>
            <ul class="receipts">
                {order.receipts.iter().map(|r| view! {
                    <li data-receipt=r.name.clone()>
                        <strong>{r.name.clone()}</strong>" · "
                        <span class="receipt-state">{r.state_label()}</span>
                        {r.scheduled_date.clone().map(|d| format!(" · expected {d}"))}
                        {r.date_done.clone().map(|d| format!(" · received {d}"))}
                        {(!r.carrier_tracking_ref.is_empty()).then(|| format!(" · tracking {}", r.carrier_tracking_ref))}
                    </li>
                }).collect_view()}
            </ul>
        })}
        {(!order.discrepancies.is_empty()).then(|| view! {
            <h2>"Received against the shipment notices"</h2>
            <ul class="discrepancies" role="list">
                {order.discrepancies.iter().map(|d| view! {
                    <li data-discrepancy=d.kind.clone()><strong>{d.description.clone()}</strong>{format!(": {}", d.detail)}</li>
                }).collect_view()}
            </ul>
        })}
        <h2 id="history">"History"</h2>
        <nav class="chips" aria-label="Show in the history" data-testid="history-filter">
            <a href=format!("/orders/{order_id}#history") aria-current=move || show().is_none().then_some("true")>{format!("Everything {total_events}")}</a>
            {counts.into_iter().map(|(g, n)| view! {
                <a href=format!("/orders/{order_id}?show={}#history", g.code()) aria-current=move || (show() == Some(g)).then_some("true") data-group=g.code()>{format!("{} {n}", g.label())}</a>
            }).collect_view()}
        </nav>
        <ol class="history">
            {move || all_events.iter().filter(|e| show().is_none_or(|g| e.group == g.code())).map(|e| view! {
                <li data-group=e.group.clone()>
                    <time>{e.at.clone()}</time>
                    " " <span class="actor">{e.actor.clone().unwrap_or_else(|| "Odoo".into())}</span>
                    " " {e.detail.clone()}
                    {e.correlation_id.clone().map(|c| view! { <span class="ref">" ref " <code>{c}</code></span> })}
                </li>
            }).collect_view()}
        </ol>
    }
}

/// The order's lines as HTML text: a card per line (what was ordered, what was received, the
/// supplier's answer, the buyer's word on it) and an open line's answer forms. Lines are
/// the part of an order page that repeats; as a view, ten lines' cards were some 250
/// elements that Leptos builds, walks and renders one by one, for markup that never changes
/// in the browser. Every value from the order is escaped, as the view macro escapes it.
fn line_cards(lines: &[LineView], order_id: i64, can_answer: bool) -> String {
    #[cfg(feature = "ssr")]
    {
        use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
        use std::fmt::Write as _;
        let csrf = super::csrf_token();
        let mut h = String::with_capacity(lines.len() * 2048);
        for line in lines {
            let waiting = matches!(
                line.answer,
                Some(LineAnswerState::ProposalPending | LineAnswerState::Rejected)
            );
            let open_form = can_answer && !waiting && !line.removed_in_odoo;
            let _ = write!(
                h,
                "<article class=\"line{}\" data-line=\"{}\"><header><h3>{}</h3><span class=\"code\">{}</span>",
                if line.removed_in_odoo { " removed" } else { "" },
                attr(&line.description),
                text(&line.description),
                text(&line.product_code),
            );
            if !line.vendor_code.is_empty() {
                let _ = write!(
                    h,
                    "<span class=\"vendor-code\" title=\"{}\">Your code: {}</span>",
                    attr(&line.vendor_name),
                    text(&line.vendor_code),
                );
            }
            let _ = write!(
                h,
                "</header><dl class=\"facts\">\
                 <div><dt>Quantity</dt><dd>{} {}</dd></div>\
                 <div><dt>Unit price</dt><dd>{}</dd></div>\
                 <div><dt>Requested</dt><dd>{}</dd></div>\
                 <div><dt>Received</dt><dd>{}</dd></div>\
                 <div><dt>Open</dt><dd>{}</dd></div>\
                 <div><dt>Your answer</dt><dd data-testid=\"line-answer\">{}",
                text(&line.quantity),
                text(&line.uom),
                text(&line.price_unit),
                text(&line.date_planned.as_deref().map(day).unwrap_or_default()),
                text(&line.qty_received),
                text(&line.open_quantity),
                line.answer.map(|a| a.label()).unwrap_or("Not answered"),
            );
            if let Some(d) = line.proposed_date.as_deref() {
                let _ = write!(h, " · date {}", text(&day(d)));
            }
            if let Some(q) = &line.proposed_quantity {
                let _ = write!(h, " · quantity {}", text(q));
            }
            if let Some(r) = &line.reason {
                let _ = write!(h, " · “{}”", text(r));
            }
            h.push_str("</dd></div></dl>");
            if line.removed_in_odoo {
                h.push_str("<p class=\"banner warn\">The buyer removed this line.</p>");
            }
            if let Some(r) = line
                .buyer_reason
                .as_deref()
                .filter(|_| line.answer == Some(LineAnswerState::ProposalRejected))
            {
                let _ = write!(
                    h,
                    "<p class=\"banner warn\" data-testid=\"buyer-reason\">The buyer turned your proposal down: {}. Answer the line again.</p>",
                    text(r)
                );
            }
            if open_form {
                let _ = write!(
                    h,
                    "<div class=\"answer\">{}</div>",
                    answer_forms(order_id, line.id, &csrf)
                );
            }
            h.push_str("</article>");
        }
        h
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (lines, order_id, can_answer);
        String::new()
    }
}

/// The answer forms of an open line ("Accept as ordered", and "Propose a change or reject"
/// behind a disclosure), as HTML text inside the line's card ([`line_cards`]). Through the
/// view macro, ten lines' forms were some 250 of the page's 600 elements. Every value in
/// them is a number, the session's CSRF token, a fresh idempotency key or a constant path,
/// escaped all the same. Plain forms aimed at `…#lines`: the redirect back keeps the
/// fragment, so the browser returns to the lines and their answer's message.
fn answer_forms(order_id: i64, line_id: i64, csrf: &str) -> String {
    #[cfg(feature = "ssr")]
    {
        use html_escape::encode_double_quoted_attribute as attr;
        let action = format!(
            "{}#lines",
            <AnswerLine as leptos::server_fn::ServerFn>::PATH
        );
        let action = attr(&action);
        let csrf = attr(csrf);
        let hidden = |key: &str| {
            format!(
                "<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"idempotency_key\" value=\"{}\">\
                 <input type=\"hidden\" name=\"order_id\" value=\"{order_id}\">\
                 <input type=\"hidden\" name=\"line_id\" value=\"{line_id}\">",
                attr(key)
            )
        };
        let id = format!("line-{line_id}");
        format!(
            "<form method=\"post\" action=\"{action}\" class=\"inline\">{accept}\
             <input type=\"hidden\" name=\"answer\" value=\"accept\">\
             <button type=\"submit\" data-testid=\"accept-line\">Accept as ordered</button></form>\
             <details><summary>Propose a change or reject</summary>\
             <form method=\"post\" action=\"{action}\" class=\"form\">{change}\
             <fieldset><legend>Your answer</legend>\
             <label><input type=\"radio\" name=\"answer\" value=\"propose\" checked> Propose a new date and/or quantity</label>\
             <label><input type=\"radio\" name=\"answer\" value=\"reject\"> Reject the line</label></fieldset>\
             <label for=\"{id}-date\">New date</label><input id=\"{id}-date\" name=\"proposed_date\" type=\"date\">\
             <label for=\"{id}-qty\">New quantity</label><input id=\"{id}-qty\" name=\"proposed_quantity\" inputmode=\"decimal\">\
             <label for=\"{id}-reason\">Reason (the buyer reads it)</label>\
             <textarea id=\"{id}-reason\" name=\"reason\" maxlength=\"500\"></textarea>\
             <button type=\"submit\" data-testid=\"send-answer\">Send answer</button></form></details>",
            accept = hidden(&super::new_form_key()),
            change = hidden(&super::new_form_key()),
        )
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (order_id, line_id, csrf);
        String::new()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn line(description: &str) -> LineView {
        LineView {
            id: 7,
            product_code: "P<1>".into(),
            description: description.into(),
            vendor_code: "V&2".into(),
            vendor_name: "Acme \"Best\" <Steel>".into(),
            quantity: "10".into(),
            uom: "Units".into(),
            price_unit: "2.50".into(),
            date_planned: Some("2026-12-06 09:00 CET".into()),
            qty_received: "0".into(),
            open_quantity: "10".into(),
            answer: None,
            proposed_date: None,
            proposed_quantity: Some("<9>".into()),
            reason: None,
            buyer_reason: None,
            removed_in_odoo: false,
        }
    }

    /// Values from Odoo and from people are escaped in text and in attributes alike.
    #[test]
    fn a_lines_card_escapes_what_it_shows() {
        let html = line_cards(&[line("Bolt \"M8\" <b>&</b>")], 3, true);
        assert!(html.starts_with("<article class=\"line\" data-line=\"Bolt &quot;M8&quot; &lt;b&gt;&amp;&lt;/b&gt;\">"), "{html}");
        assert!(
            html.contains("<h3>Bolt \"M8\" &lt;b&gt;&amp;&lt;/b&gt;</h3>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"code\">P&lt;1&gt;</span>"),
            "{html}"
        );
        assert!(
            html.contains(
                "title=\"Acme &quot;Best&quot; &lt;Steel&gt;\">Your code: V&amp;2</span>"
            ),
            "{html}"
        );
        assert!(html.contains("<dd>2026-12-06</dd>"), "{html}");
        assert!(
            html.contains("Not answered · quantity &lt;9&gt;</dd>"),
            "{html}"
        );
        assert!(!html.contains("<b>") && !html.contains("<9>"), "{html}");
        // An open line brings its answer forms; a removed one neither, and says so.
        assert!(html.contains("name=\"line_id\" value=\"7\""), "{html}");
        let mut removed = line("Nut");
        removed.removed_in_odoo = true;
        let html = line_cards(&[removed], 3, true);
        assert!(
            html.starts_with("<article class=\"line removed\""),
            "{html}"
        );
        assert!(html.contains("The buyer removed this line."), "{html}");
        assert!(!html.contains("<form"), "{html}");
    }
}

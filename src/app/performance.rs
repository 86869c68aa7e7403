//! `/performance`: supplier scorecards over a period, with charts per month.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::performance::performance;
use crate::domain::performance::{Ratio, Scorecard};

// Integer arithmetic only: formatting floats would add its code to the browser bundle.

fn percent(r: Ratio) -> String {
    match r.whole_percent() {
        Some(p) => format!("{p} %"),
        None => "—".into(),
    }
}

fn hours(h: Option<f64>) -> String {
    let Some(h) = h else {
        return "—".into();
    };
    let tenths = (h * 10.0).round() as i64;
    if tenths < 480 {
        format!("{}.{} h", tenths / 10, tenths % 10)
    } else {
        let day_tenths = (h * 10.0 / 24.0).round() as i64;
        format!("{}.{} days", day_tenths / 10, day_tenths % 10)
    }
}

#[component]
pub fn PerformancePage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &'static str| move || query.with(|m| m.get(k)).unwrap_or_default();
    let (supplier, from, to) = (get("supplier"), get("from"), get("to"));
    let data = Resource::new(
        move || (supplier(), from(), to()),
        |(s, f, t)| performance(s, f, t),
    );
    view! {
        <h1>"Supplier performance"</h1>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(v) => {
                    let selected = v.selected.map(|s| s.to_string()).unwrap_or_default();
                    view! {
                        <form method="get" action="/performance" class="filters">
                            {(!v.suppliers.is_empty()).then(|| view! {
                                <div class="field">
                                    <label for="supplier">"Supplier"</label>
                                    <select id="supplier" name="supplier">
                                        <option value="" selected=selected.is_empty()>"All suppliers"</option>
                                        {v.suppliers.iter().map(|(id, name)| view! { <option value=*id selected=selected == id.to_string()>{name.clone()}</option> }).collect_view()}
                                    </select>
                                </div>
                            })}
                            <div class="field"><label for="from">"Released from"</label><input id="from" name="from" type="date" value=v.from.clone()/></div>
                            <div class="field"><label for="to">"to"</label><input id="to" name="to" type="date" value=v.to.clone()/></div>
                            <button type="submit">"Show"</button>
                        </form>
                        <p class="hint">"Orders released in the period. On time: received by the confirmed date (the day of the order's last validated receipt). In full: the whole quantity received. Notice accuracy: what shipment notices announced equals what was received."</p>
                        {if v.scores.is_empty() { view! { <p class="empty">"No released orders in this period."</p> }.into_any() } else { view! {
                            <table class="orders" data-testid="scorecards">
                                <thead><tr>
                                    <th scope="col">"Supplier"</th><th scope="col" class="num">"Orders"</th>
                                    <th scope="col" class="num">"Acknowledged"</th><th scope="col" class="num">"Median time to acknowledge"</th>
                                    <th scope="col" class="num">"Lines confirmed as ordered"</th><th scope="col" class="num">"On time"</th>
                                    <th scope="col" class="num">"In full"</th><th scope="col" class="num">"Notice accuracy"</th>
                                </tr></thead>
                                <tbody>
                                    {v.scores.iter().map(|s| view! {
                                        <tr data-score=s.name.clone()>
                                            <td data-label="Supplier">{s.name.clone()}</td>
                                            <td data-label="Orders" class="num">{s.card.orders}</td>
                                            <td data-label="Acknowledged" class="num">{percent(s.card.acknowledged)}</td>
                                            <td data-label="Median time to acknowledge" class="num">{hours(s.card.ack_median_hours)}</td>
                                            <td data-label="Lines confirmed as ordered" class="num">{percent(s.card.confirmed_as_ordered)}</td>
                                            <td data-label="On time" class="num">{percent(s.card.on_time)}</td>
                                            <td data-label="In full" class="num">{percent(s.card.in_full)}</td>
                                            <td data-label="Notice accuracy" class="num">{percent(s.card.asn_accuracy)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }}
                        {(!v.months.is_empty()).then(|| view! {
                            <h2>"By month of release"</h2>
                            <MonthChart months=v.months.clone()/>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Grouped bars per month: acknowledged, on time and in full (percent), drawn as SVG on
/// the server; the same numbers are in the table above and in each bar's title.
#[component]
fn MonthChart(months: Vec<(String, Scorecard)>) -> impl IntoView {
    const SERIES: [(&str, &str); 3] = [
        ("Acknowledged", "bar-ack"),
        ("On time", "bar-ontime"),
        ("In full", "bar-infull"),
    ];
    let (bar, gap, height): (i64, i64, i64) = (14, 18, 160);
    let group = bar * SERIES.len() as i64 + gap;
    let width = 40 + group * months.len() as i64;
    let summary = months
        .iter()
        .map(|(m, c)| {
            format!(
                "{m}: acknowledged {}, on time {}, in full {}",
                percent(c.acknowledged),
                percent(c.on_time),
                percent(c.in_full)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <figure class="chart">
            <svg role="img" aria-label=summary viewBox=format!("0 0 {width} {}", height + 40) width=width height=height + 40 data-testid="month-chart">
                {[0i64, 50, 100].into_iter().map(|p| {
                    let y = 10 + height * (100 - p) / 100;
                    view! {
                        <line x1="34" x2=width y1=y y2=y class="grid"/>
                        <text x="30" y=y + 4 text-anchor="end" class="axis">{format!("{p}%")}</text>
                    }
                }).collect_view()}
                {months.iter().enumerate().map(|(i, (month, card))| {
                    let x0 = 40 + group * i as i64;
                    let values = [card.acknowledged, card.on_time, card.in_full];
                    view! {
                        {values.into_iter().zip(SERIES).enumerate().map(|(k, (ratio, (name, class)))| {
                            let p = ratio.whole_percent().unwrap_or(0) as i64;
                            let h = height * p / 100;
                            view! {
                                <rect x=x0 + bar * k as i64 y=10 + height - h width=bar - 2 height=h class=class>
                                    <title>{format!("{month} · {name}: {} ({} of {})", percent(ratio), ratio.hits, ratio.of)}</title>
                                </rect>
                            }
                        }).collect_view()}
                        <text x=x0 + bar * 3 / 2 y=height + 28 text-anchor="middle" class="axis">{month.clone()}</text>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="legend">
                {SERIES.into_iter().map(|(name, class)| view! { <span><i class=format!("swatch {class}")></i>{name}</span> }).collect_view()}
            </figcaption>
        </figure>
    }
}

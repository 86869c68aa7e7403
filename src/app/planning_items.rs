//! Demand planning per item: `/planning/items/:item` (one item's forecast across versions, as
//! an SVG chart drawn on the server and the same numbers as a table), the overrides section
//! of a forecast version's page, and `/planning/rules` (auto-approval limits). Forms post as
//! plain HTML to `server::planning::override_forms`, so they work before hydration.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::planning::{PlanningNav, Said};
use super::CsrfField;
use crate::api::planning_items::{planning_item, planning_overrides, planning_rules};
use crate::model::planning_items::{ItemHistory, OverrideView};

/// Line colours, one per version (oldest first); the override is drawn in black.
const COLOURS: [&str; 8] = [
    "#9aa5b1", "#7b8794", "#5b7fa6", "#2f8f5b", "#c98a1b", "#8e44ad", "#c0392b", "#1f4e79",
];

fn q(s: &str) -> f64 {
    s.parse::<f64>().unwrap_or(0.0)
}

/// The override form for one bucket (prefilled), returning to `back`.
#[component]
fn OverrideForm(
    item: String,
    location: String,
    bucket_start: String,
    back: String,
) -> impl IntoView {
    view! {
        <form method="post" action="/planning/overrides" class="card form" data-testid="override-form">
            <CsrfField/>
            <input type="hidden" name="back" value=back/>
            <h3>"Override a bucket"</h3>
            <label for="ov-item">"Item"</label>
            <input id="ov-item" name="item" value=item required/>
            <label for="ov-location">"Location"</label>
            <input id="ov-location" name="location" value=location required/>
            <label for="ov-bucket">"Bucket (first day)"</label>
            <input id="ov-bucket" name="bucket_start" type="date" value=bucket_start required/>
            <label for="ov-quantity">"Quantity (in the product's unit)"</label>
            <input id="ov-quantity" name="quantity" inputmode="decimal" required/>
            <label for="ov-reason">"Reason"</label>
            <input id="ov-reason" name="reason" maxlength="500" required/>
            <label for="ov-until">"Applies until (last day)"</label>
            <input id="ov-until" name="until" type="date" required/>
            <button type="submit" class="primary" data-testid="override-save">"Save the override"</button>
        </form>
    }
}

/// Every override with its remove button.
#[component]
fn OverrideList(overrides: Vec<OverrideView>, back: String) -> impl IntoView {
    if overrides.is_empty() {
        return view! { <p class="empty">"No overrides."</p> }.into_any();
    }
    view! {
        <table class="orders" data-testid="overrides">
            <thead><tr>
                <th scope="col">"Item"</th><th scope="col">"Location"</th><th scope="col">"Bucket"</th>
                <th scope="col">"Quantity"</th><th scope="col">"Reason"</th><th scope="col">"Until"</th>
                <th scope="col">"By"</th><th scope="col"><span class="visually-hidden">"Action"</span></th>
            </tr></thead>
            <tbody>
                {overrides.into_iter().map(|o| view! {
                    <tr data-override=o.id data-active=o.active.to_string()>
                        <td data-label="Item"><a href=format!("/planning/items/{}?location={}", o.item, o.location)>{o.item.clone()}</a></td>
                        <td data-label="Location">{o.location.clone()}</td>
                        <td data-label="Bucket">{o.bucket_start.clone()}</td>
                        <td data-label="Quantity">{o.quantity.clone()}</td>
                        <td data-label="Reason">{o.reason.clone()}</td>
                        <td data-label="Until">{o.until.clone()}{(!o.active).then_some(" (expired)")}</td>
                        <td data-label="By">{format!("{} at {}", o.created_by, o.created_at)}</td>
                        <td>
                            <form method="post" action=format!("/planning/overrides/{}/remove", o.id) class="inline">
                                <CsrfField/>
                                <input type="hidden" name="back" value=back.clone()/>
                                <button type="submit" data-testid="override-remove">"Remove"</button>
                            </form>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A forecast version's overrides: the buckets they replace (imported beside effective),
/// every override, and the form to add one.
#[component]
pub fn VersionOverrides(id: i64) -> impl IntoView {
    let data = Resource::new(move || id, planning_overrides);
    let back = format!("/planning/versions/{id}");
    view! {
        <h2>"Overrides"</h2>
        <p class="hint">"A planner's value for a bucket wins over the imported one until its last day, in this version and in later ones."</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {let back = back.clone(); move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(v) => {
                    let first = v.overridden.first().cloned();
                    view! {
                        {(!v.overridden.is_empty()).then(|| view! {
                            <table class="orders" data-testid="effective">
                                <thead><tr><th scope="col">"Item"</th><th scope="col">"Location"</th><th scope="col">"Bucket"</th><th scope="col">"Kind"</th><th scope="col">"Imported"</th><th scope="col">"Effective"</th><th scope="col">"Why"</th></tr></thead>
                                <tbody>
                                    {v.overridden.iter().map(|b| view! {
                                        <tr>
                                            <td data-label="Item"><a href=format!("/planning/items/{}?location={}", b.item, b.location)>{b.item.clone()}</a></td>
                                            <td data-label="Location">{b.location.clone()}</td>
                                            <td data-label="Bucket">{b.bucket_start.clone()}</td>
                                            <td data-label="Kind">{b.kind.clone()}</td>
                                            <td data-label="Imported">{b.imported.clone()}</td>
                                            <td data-label="Effective" data-testid="effective-value">{b.effective.clone()}</td>
                                            <td data-label="Why">{format!("{} (until {})", b.reason.clone().unwrap_or_default(), b.until.clone().unwrap_or_default())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                        <OverrideList overrides=v.overrides back=back.clone()/>
                        <OverrideForm
                            item=first.as_ref().map(|b| b.item.clone()).unwrap_or_default()
                            location=first.as_ref().map(|b| b.location.clone()).unwrap_or_default()
                            bucket_start=first.as_ref().map(|b| b.bucket_start.clone()).unwrap_or_default()
                            back=back.clone()
                        />
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// `/planning/items/:item?location=`: the chart and the table of one item's forecast.
#[component]
pub fn ItemPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let item = move || params.with(|p| p.get("item")).unwrap_or_default();
    let location = move || query.with(|q| q.get("location")).unwrap_or_default();
    let data = Resource::new(move || (item(), location()), |(i, l)| planning_item(i, l));
    view! {
        <PlanningNav/>
        <Said/>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <h1>{format!("Item {}", item())}</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(h) => {
                    let back = format!("/planning/items/{}?location={}", h.item, h.location);
                    let (item, location) = (h.item.clone(), h.location.clone());
                    let first_bucket = h.buckets.first().cloned().unwrap_or_default();
                    view! {
                        <h1>{format!("{} at {}", h.item, h.location)}</h1>
                        {(h.locations.len() > 1).then(|| view! {
                            <nav class="chips" aria-label="Locations">
                                {h.locations.iter().map(|l| view! { <a href=format!("/planning/items/{}?location={l}", h.item)>{l.clone()}</a> }).collect_view()}
                            </nav>
                        })}
                        <ItemChart history=h.clone()/>
                        <ItemTable history=h.clone()/>
                        <OverrideForm item=item location=location bucket_start=first_bucket back=back/>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// One line per version, the active overrides as marked points; every value is also in
/// the table below and in each point's title.
#[component]
fn ItemChart(history: ItemHistory) -> impl IntoView {
    let (left, top, plot_w, plot_h) = (56.0_f64, 10.0_f64, 640.0_f64, 220.0_f64);
    let n = history.buckets.len().max(1);
    let max = history
        .versions
        .iter()
        .flat_map(|v| v.quantities.iter().flatten())
        .chain(history.overrides.iter().flatten())
        .map(|s| q(s))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let x = move |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = move |v: f64| top + plot_h - plot_h * v / max;
    let summary = format!(
        "Forecast of {} at {} in {} version(s) over {} bucket(s); overrides marked with a ring.",
        history.item,
        history.location,
        history.versions.len(),
        history.buckets.len()
    );
    let count = history.versions.len();
    let colour =
        move |k: usize| COLOURS[(COLOURS.len() - count.min(COLOURS.len()) + k) % COLOURS.len()];
    let width = left + plot_w + 24.0;
    let height = top + plot_h + 40.0;
    view! {
        <figure class="chart">
            <svg role="img" aria-label=summary viewBox=format!("0 0 {width} {height}") width=width height=height data-testid="item-chart">
                {[0.0, 0.5, 1.0].into_iter().map(|f| {
                    let v = max * f;
                    view! {
                        <line x1=left - 4.0 x2=left + plot_w y1=y(v) y2=y(v) class="grid"/>
                        <text x=left - 8.0 y=y(v) + 4.0 text-anchor="end" class="axis">{format!("{v:.0}")}</text>
                    }
                }).collect_view()}
                {history.buckets.iter().enumerate().map(|(i, b)| view! {
                    <text x=x(i) y=top + plot_h + 28.0 text-anchor="middle" class="axis">{b.get(5..).unwrap_or(b).to_string()}</text>
                }).collect_view()}
                {history.versions.iter().enumerate().map(|(k, v)| {
                    let points = v.quantities.iter().enumerate()
                        .filter_map(|(i, q_)| q_.as_deref().map(|s| format!("{:.1},{:.1}", x(i), y(q(s)))))
                        .collect::<Vec<_>>().join(" ");
                    let c = colour(k);
                    view! {
                        <polyline points=points fill="none" stroke=c stroke-width="2" data-version=v.version>
                            <title>{format!("version {} ({})", v.version, v.status)}</title>
                        </polyline>
                        {v.quantities.iter().enumerate().filter_map(|(i, q_)| q_.clone().map(|s| (i, s))).map(|(i, s)| view! {
                            <circle cx=x(i) cy=y(q(&s)) r="3" fill=c>
                                <title>{format!("version {} · {}: {s}", v.version, history.buckets[i])}</title>
                            </circle>
                        }).collect_view()}
                    }
                }).collect_view()}
                {history.overrides.iter().enumerate().filter_map(|(i, o)| o.clone().map(|s| (i, s))).map(|(i, s)| view! {
                    <circle cx=x(i) cy=y(q(&s)) r="7" fill="none" stroke="#111" stroke-width="2" data-testid="override-mark">
                        <title>{format!("override · {}: {s}", history.buckets[i])}</title>
                    </circle>
                }).collect_view()}
            </svg>
            <figcaption class="legend">
                // Swatches as SVG presentation attributes: the CSP forbids inline styles.
                {history.versions.iter().enumerate().map(|(k, v)| view! {
                    <span><svg class="swatch" width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill=colour(k)/></svg>{format!(" v{} ({})", v.version, v.status)}</span>
                }).collect_view()}
                <span><svg class="swatch" width="14" height="14" aria-hidden="true"><circle cx="7" cy="7" r="5" fill="none" stroke="#111" stroke-width="2"/></svg>" override"</span>
            </figcaption>
        </figure>
    }
}

/// The chart's numbers: a row per bucket, a column per version, the override and what counts.
#[component]
fn ItemTable(history: ItemHistory) -> impl IntoView {
    let latest = history.versions.len().checked_sub(1);
    view! {
        <table class="orders" data-testid="item-table">
            <caption>{format!("{} at {}: quantity per bucket in each version", history.item, history.location)}</caption>
            <thead><tr>
                <th scope="col">"Bucket"</th>
                {history.versions.iter().map(|v| view! {
                    <th scope="col"><a href=format!("/planning/versions/{}", v.import_id)>{format!("v{}", v.version)}</a>{format!(" ({})", v.status)}</th>
                }).collect_view()}
                <th scope="col">"Override"</th>
                <th scope="col">"Effective (latest)"</th>
            </tr></thead>
            <tbody>
                {history.buckets.iter().enumerate().map(|(i, b)| {
                    let over = history.overrides[i].clone();
                    let last = latest.and_then(|l| history.versions[l].quantities[i].clone());
                    view! {
                        <tr data-bucket=b.clone()>
                            <th scope="row">{b.clone()}</th>
                            {history.versions.iter().map(|v| view! { <td>{v.quantities[i].clone().unwrap_or_else(|| "–".into())}</td> }).collect_view()}
                            <td data-label="Override">{over.clone().unwrap_or_else(|| "–".into())}</td>
                            <td data-label="Effective" data-testid="item-effective">{over.or(last).unwrap_or_else(|| "–".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/planning/rules`: approval by rule, per source.
#[component]
pub fn RulesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| planning_rules());
    view! {
        <h1>"Approval by rule"</h1>
        <PlanningNav/>
        <Said/>
        <p class="hint">"A new version from a source is approved without a planner when every bucket changed, against the previous approved version, within the percentage or within the absolute amount. A version with no approved one before it always waits for a planner."</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"No rules: every version waits for a planner."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="orders" data-testid="rules">
                        <thead><tr><th scope="col">"Source"</th><th scope="col">"Approves when"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|r| view! {
                                <tr><td data-label="Source">{if r.source == "*" { "every other source".to_string() } else { r.source.clone() }}</td><td data-label="Approves when">{r.describe}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
        <form method="post" action="/planning/auto-approval" class="card form" data-testid="rule-form">
            <CsrfField/>
            <label for="rule-source">"Source (empty: every source without its own rule)"</label>
            <input id="rule-source" name="source" maxlength="80"/>
            <label for="rule-percent">"Within (%)"</label>
            <input id="rule-percent" name="max_percent" inputmode="decimal"/>
            <label for="rule-absolute">"Or within (units)"</label>
            <input id="rule-absolute" name="max_absolute" inputmode="decimal"/>
            <p class="hint">"Leave both empty to turn the source's rule off."</p>
            <button type="submit" class="primary">"Save the rule"</button>
        </form>
    }
}

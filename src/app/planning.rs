//! Demand planning pages for planners: the versions (and the upload), one version (its
//! report or its changes, approval), and the mapping of planning codes to Odoo. Every form
//! is a plain HTML form posting to `server::planning::forms`, so it works before hydration;
//! the outcome comes back in the query string (`saved` or `error`).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{CsrfField, IdempotencyField};
use crate::api::planning::{planning_mapping, planning_version, planning_versions};

/// The `saved` or `error` banner a form's redirect brings.
#[component]
pub(super) fn Said() -> impl IntoView {
    let query = use_query_map();
    let said = move |k: &'static str| query.with(|q| q.get(k)).filter(|m| !m.is_empty());
    view! {
        {move || said("saved").map(|m| view! { <p class="banner ok" role="status" data-testid="planning-saved">{m}</p> })}
        {move || said("error").map(|m| view! { <p class="banner error" role="alert" data-testid="planning-error">{m}</p> })}
    }
}

#[component]
pub(super) fn PlanningNav() -> impl IntoView {
    view! {
        <nav class="chips" aria-label="Planning">
            <a href="/planning">"Versions"</a>
            <a href="/planning/mapping">"Mapping"</a>
            <a href="/planning/sources">"Scheduled pulls"</a>
            <a href="/planning/rules">"Approval by rule"</a>
            <a href="/planning/supply.csv" download data-testid="planning-supply-download">"Confirmed supply (CSV)"</a>
            <a href="/api/v1/planning/schema">"Format (JSON Schema)"</a>
        </nav>
    }
}

/// `/planning`: the upload and every snapshot, newest first.
#[component]
pub fn VersionsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| planning_versions());
    view! {
        <h1>"Demand planning"</h1>
        <PlanningNav/>
        <Said/>
        <form method="post" action="/planning/imports" enctype="multipart/form-data" class="card form" data-testid="planning-upload">
            <CsrfField/>
            <h2>"Import a file"</h2>
            <p class="hint">"CSV with a header row, or JSON (an array of rows or {\"rows\": [...]}); the fields are listed in the README and the JSON Schema."</p>
            <label for="planning-kind">"What it holds"</label>
            <select id="planning-kind" name="kind">
                <option value="forecast" selected>"Forecast snapshot"</option>
                <option value="supply">"Supply recommendations"</option>
            </select>
            <label for="planning-source">"Source (its profile applies)"</label>
            <input id="planning-source" name="source" autocomplete="off" maxlength="80" placeholder="upload"/>
            <label for="planning-snapshot">"Source's snapshot id (optional)"</label>
            <input id="planning-snapshot" name="snapshot_id" autocomplete="off" maxlength="200"/>
            <label for="planning-file">"File"</label>
            <input id="planning-file" name="file" type="file" accept=".csv,.json,.txt,text/csv,application/json" required/>
            <button type="submit" class="primary" data-testid="planning-import">"Import and validate"</button>
        </form>
        <h2>"Snapshots and versions"</h2>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing imported yet."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="orders" data-testid="planning-versions">
                        <thead><tr>
                            <th scope="col">"Version"</th><th scope="col">"Kind"</th><th scope="col">"Source"</th>
                            <th scope="col">"Sent by"</th><th scope="col">"When"</th><th scope="col">"Rows"</th>
                            <th scope="col">"Items"</th><th scope="col">"Status"</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|i| view! {
                                <tr data-snapshot=i.id data-status=i.status.clone()>
                                    <td data-label="Version"><a href=format!("/planning/versions/{}", i.id)>{i.version.map(|v| format!("v{v}")).unwrap_or_else(|| format!("#{} ({})", i.id, i.file_name))}</a></td>
                                    <td data-label="Kind">{i.kind.clone()}</td>
                                    <td data-label="Source">{i.source.clone()}{i.snapshot_id.clone().map(|s| format!(" · {s}"))}</td>
                                    <td data-label="Sent by">{i.sent_by.clone()}</td>
                                    <td data-label="When">{i.sent_at.clone()}</td>
                                    <td data-label="Rows">{i.row_count}</td>
                                    <td data-label="Items">{i.item_count}</td>
                                    <td data-label="Status"><span class=format!("status status-{}", i.status)>{i.status.clone()}</span>{(i.error_count > 0).then(|| format!(" ({} problems)", i.error_count))}{i.approved_by.clone().filter(|a| a.starts_with("rule: ")).map(|a| format!(" (approved by {a})"))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}

/// `/planning/versions/:id`: a snapshot's report (rejected) or its changes (a version).
#[component]
pub fn VersionPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let threshold = move || query.with(|q| q.get("threshold")).unwrap_or_default();
    let data = Resource::new(
        move || (id(), threshold()),
        |(id, t)| planning_version(id, t),
    );
    view! {
        <PlanningNav/>
        <Said/>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <h1>"Snapshot"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(d) => {
                    let i = d.import.clone();
                    let id = i.id;
                    let title = match i.version {
                        Some(v) => format!("{} version {v}", i.kind),
                        None => format!("{} snapshot #{} ({})", i.kind, i.id, i.file_name),
                    };
                    view! {
                        <h1>{title}</h1>
                        <dl class="facts">
                            <dt>"Status"</dt><dd data-testid="planning-status">{i.status.clone()}</dd>
                            <dt>"Source"</dt><dd>{i.source.clone()}{i.snapshot_id.clone().map(|s| format!(" · snapshot {s}"))}</dd>
                            <dt>"Sent by"</dt><dd>{format!("{} at {}", i.sent_by, i.sent_at)}</dd>
                            <dt>"Rows"</dt><dd>{format!("{} rows, {} items", i.row_count, i.item_count)}</dd>
                            <dt>"Correlation id"</dt><dd><code>{i.correlation_id.clone()}</code></dd>
                            {i.approved_by.clone().map(|a| view! { <dt>"Approved by"</dt><dd>{format!("{a} at {}", i.approved_at.clone().unwrap_or_default())}</dd> })}
                        </dl>
                        {(i.status == "approved").then(|| view! { <p><a href=format!("/planning/signals/{id}") data-testid="planning-signals">"Demand signals pushed to Odoo"</a>" · "<a href=format!("/planning/trace?version={id}") data-testid="planning-trace">"Trace to orders and suppliers"</a></p> })}
                        {(i.status == "valid").then(|| view! {
                            <form method="post" action=format!("/planning/versions/{id}/approve") class="inline">
                                <CsrfField/>
                                <IdempotencyField/>
                                <button type="submit" class="primary" data-testid="planning-approve">"Approve this version"</button>
                            </form>
                        })}
                        {(i.status == "rejected" || i.status == "pending").then(|| view! {
                            <Report detail=d.clone()/>
                        })}
                        {i.version.is_some().then(|| view! { <Changes detail=d.clone()/> })}
                        {(i.version.is_some() && i.kind == "forecast").then(|| view! { <super::planning_items::VersionOverrides id=id/> })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn Report(detail: crate::model::planning::VersionDetail) -> impl IntoView {
    let id = detail.import.id;
    let more = detail.import.error_count - detail.problems.len() as i64;
    view! {
        <h2>"Report"</h2>
        <p>{format!("{} problem(s); nothing was applied.", detail.import.error_count)}</p>
        <p>
            <a class="button" href=format!("/planning/imports/{id}/report.csv") download data-testid="planning-report">"Download the report (CSV)"</a>
            " "
            <a href="/planning/mapping">"Fix the mapping"</a>
        </p>
        <form method="post" action=format!("/planning/imports/{id}/validate") class="inline">
            <CsrfField/>
            <button type="submit" data-testid="planning-revalidate">"Validate again (with the mapping as it is now)"</button>
        </form>
        {(!detail.unmapped.is_empty()).then(|| view! {
            <h3>"Not mapped"</h3>
            <ul data-testid="planning-unmapped">
                {detail.unmapped.iter().map(|u| view! { <li>{format!("{} {}: {} rows", u.what, u.code, u.row_count)}</li> }).collect_view()}
            </ul>
        })}
        <table class="orders" data-testid="planning-problems">
            <thead><tr><th scope="col">"Row"</th><th scope="col">"Column"</th><th scope="col">"Value"</th><th scope="col">"What is wrong"</th><th scope="col">"How to fix it"</th></tr></thead>
            <tbody>
                {detail.problems.into_iter().map(|p| view! {
                    <tr>
                        <td data-label="Row">{p.row}</td>
                        <td data-label="Column">{p.column}</td>
                        <td data-label="Value"><code>{p.value}</code></td>
                        <td data-label="What is wrong">{p.problem}</td>
                        <td data-label="How to fix it">{p.fix}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {(more > 0).then(|| view! { <p>{format!("{more} more problems are counted but not listed.")}</p> })}
    }
    .into_any()
}

#[component]
fn Changes(detail: crate::model::planning::VersionDetail) -> impl IntoView {
    let id = detail.import.id;
    let against = detail
        .previous_version
        .map(|v| format!("against approved version {v}"))
        .unwrap_or_else(|| "no approved version before: every bucket is new".into());
    view! {
        <h2>"Changes"</h2>
        <p>{format!("{} changed bucket(s), {against}.", detail.changed_count)}</p>
        <form method="get" action=format!("/planning/versions/{id}") class="filters">
            <div class="field">
                <label for="threshold">"Highlight changes above (%)"</label>
                <input id="threshold" name="threshold" inputmode="decimal" value=detail.threshold_percent.clone()/>
            </div>
            <button type="submit">"Apply"</button>
        </form>
        <table class="orders" data-testid="planning-diff">
            <thead><tr><th scope="col">"Item"</th><th scope="col">"Location"</th><th scope="col">"Bucket"</th><th scope="col">"Kind"</th><th scope="col">"Before"</th><th scope="col">"Now"</th><th scope="col">"Change"</th></tr></thead>
            <tbody>
                {detail.diff.into_iter().map(|c| view! {
                    <tr class:large=c.large data-large=c.large.to_string()>
                        <td data-label="Item">{c.item}</td>
                        <td data-label="Location">{c.location}</td>
                        <td data-label="Bucket">{c.bucket_start}</td>
                        <td data-label="Kind">{c.kind}</td>
                        <td data-label="Before">{c.previous.unwrap_or_else(|| "–".into())}</td>
                        <td data-label="Now">{c.now.unwrap_or_else(|| "–".into())}</td>
                        <td data-label="Change">{c.change_percent.map(|p| format!("{p} %")).unwrap_or_default()}{c.large.then_some(" ⚠")}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// `/planning/mapping`: what the latest rejected snapshot could not map, each fixable
/// here, and every mapping and source profile.
#[component]
pub fn MappingPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| planning_mapping());
    view! {
        <h1>"Planning mapping"</h1>
        <PlanningNav/>
        <Said/>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(m) => view! {
                    {match m.latest_rejected.clone() {
                        None => view! { <p class="empty">"No rejected snapshot waits on the mapping."</p> }.into_any(),
                        Some(i) => view! {
                            <section class="card">
                                <h2>{format!("Not mapped in snapshot #{} ({})", i.id, i.file_name)}</h2>
                                {if m.unmapped.is_empty() {
                                    view! { <p>"Every code is mapped; its other problems are in its report."</p> }.into_any()
                                } else {
                                    view! {
                                        <ul data-testid="mapping-unmapped">
                                            {m.unmapped.iter().map(|u| view! { <li data-what=u.what.clone() data-code=u.code.clone()>{format!("{} {}: {} rows", u.what, u.code, u.row_count)}</li> }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                                <p><a href=format!("/planning/versions/{}", i.id)>"Its report"</a></p>
                                <form method="post" action=format!("/planning/imports/{}/validate", i.id) class="inline">
                                    <CsrfField/>
                                    <button type="submit" class="primary" data-testid="mapping-revalidate">"Validate it again"</button>
                                </form>
                            </section>
                        }.into_any(),
                    }}
                    <MappingForms view=m/>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn MappingForms(view: crate::model::planning::MappingView) -> impl IntoView {
    let unmapped = |what: &str| -> Option<String> {
        view.unmapped
            .iter()
            .find(|u| u.what == what)
            .map(|u| u.code.clone())
    };
    let (item, location, unit) = (unmapped("item"), unmapped("location"), unmapped("unit"));
    view! {
        <h2>"Items"</h2>
        <p class="hint">"An item code matches the product with the same internal reference; a row here wins over that."</p>
        <ul>{view.items.iter().map(|i| view! { <li>{format!("{} → product {} (Odoo id {})", i.item_code, i.product_code.clone().unwrap_or_default(), i.product_odoo_id)}</li> }).collect_view()}</ul>
        <form method="post" action="/planning/mapping/item" class="card form" data-testid="map-item">
            <CsrfField/>
            <label for="item_code">"Item code"</label>
            <input id="item_code" name="item_code" required value=item/>
            <label for="product">"Product (internal reference or Odoo id)"</label>
            <input id="product" name="product" required list="known-products"/>
            <datalist id="known-products">
                {view.products.iter().map(|(id, code, uom)| view! { <option value=code.clone()>{format!("{code} (Odoo id {id}, {uom})")}</option> }).collect_view()}
            </datalist>
            <button type="submit">"Map the item"</button>
        </form>
        <h2>"Locations"</h2>
        <ul>{view.locations.iter().map(|l| view! { <li>{format!("{} → warehouse {}{}", l.location_code, l.warehouse_code, l.warehouse_odoo_id.map(|i| format!(" (Odoo id {i})")).unwrap_or_default())}</li> }).collect_view()}</ul>
        <form method="post" action="/planning/mapping/location" class="card form" data-testid="map-location">
            <CsrfField/>
            <label for="location_code">"Location code"</label>
            <input id="location_code" name="location_code" required value=location/>
            <label for="warehouse_code">"Odoo warehouse code"</label>
            <input id="warehouse_code" name="warehouse_code" required placeholder="WH"/>
            <label for="warehouse_odoo_id">"Warehouse's Odoo id (optional)"</label>
            <input id="warehouse_odoo_id" name="warehouse_odoo_id" inputmode="numeric"/>
            <button type="submit">"Map the location"</button>
        </form>
        <h2>"Units"</h2>
        <ul>{view.units.iter().map(|u| view! { <li>{format!("1 {} = {} {}", u.unit_code, u.factor, u.uom_name)}</li> }).collect_view()}</ul>
        <form method="post" action="/planning/mapping/unit" class="card form" data-testid="map-unit">
            <CsrfField/>
            <label for="unit_code">"Unit in the files"</label>
            <input id="unit_code" name="unit_code" required value=unit/>
            <label for="uom_name">"Odoo unit of the product"</label>
            <input id="uom_name" name="uom_name" required placeholder="Units"/>
            <label for="factor">"How many of those one unit is"</label>
            <input id="factor" name="factor" required inputmode="decimal" placeholder="12"/>
            <button type="submit">"Map the unit"</button>
        </form>
        <h2>"Source profiles"</h2>
        <ul>{view.profiles.iter().map(|p| view! { <li>{format!("{}: dates {}, decimal “{}”, delimiter “{}”", p.source, p.date_format, p.decimal_separator, p.delimiter)}<pre>{p.columns.clone()}</pre></li> }).collect_view()}</ul>
        <form method="post" action="/planning/mapping/profile" class="card form" data-testid="map-profile">
            <CsrfField/>
            <label for="source">"Source"</label>
            <input id="source" name="source" required/>
            <label for="columns">"Columns (one a line: source column=canonical field)"</label>
            <textarea id="columns" name="columns" rows="5" placeholder="Artikel=item"></textarea>
            <label for="date_format">"Date format"</label>
            <input id="date_format" name="date_format" value="%Y-%m-%d"/>
            <label for="decimal_separator">"Decimal separator"</label>
            <select id="decimal_separator" name="decimal_separator"><option value=".">"."</option><option value=",">","</option></select>
            <label for="delimiter">"CSV delimiter"</label>
            <select id="delimiter" name="delimiter"><option value=",">","</option><option value=";">";"</option><option value="tab">"tab"</option></select>
            <button type="submit">"Save the profile"</button>
        </form>
    }
    .into_any()
}

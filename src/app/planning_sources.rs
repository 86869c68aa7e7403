//! `/planning/sources`: the scheduled pulls of planning snapshots. Planners see each pull's
//! schedule and last outcome and may pull now; admins set pulls up, change, pause and
//! remove them. Plain forms posting to `server::planning::pull`, so they work before
//! hydration.

use leptos::prelude::*;

use super::planning::{PlanningNav, Said};
use super::CsrfField;
use crate::api::planning::planning_pulls;

#[component]
pub fn SourcesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| planning_pulls());
    view! {
        <h1>"Scheduled pulls"</h1>
        <PlanningNav/>
        <Said/>
        <p class="hint">"A pull fetches the planning system's published file every few hours, within a window of UTC hours, and validates it like an upload: the same content never makes a second version."</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(page) => {
                    let manage = page.may_manage;
                    view! {
                        {if page.pulls.is_empty() { view! { <p class="empty">"No scheduled pull yet."</p> }.into_any() } else { view! {
                            <table class="list" data-testid="planning-pulls">
                                <thead><tr>
                                    <th scope="col">"Source"</th><th scope="col">"Address"</th><th scope="col">"Schedule"</th>
                                    <th scope="col">"Last pull"</th><th scope="col">"Next"</th><th scope="col">"Actions"</th>
                                </tr></thead>
                                <tbody>
                                    {page.pulls.into_iter().map(|p| {
                                        let id = p.id;
                                        let action = move |what: &'static str| format!("/planning/pulls/{id}/{what}");
                                        view! {
                                            <tr data-pull=p.source.clone() data-status=p.last_status.clone().unwrap_or_default()>
                                                <td data-label="Source"><strong>{p.source.clone()}</strong><br/><span class="sub">{p.kind.clone()}</span></td>
                                                <td data-label="Address"><code>{p.url.clone()}</code><br/><span class="sub">{match p.auth.as_str() { "basic" => format!("basic, user {}", p.username.clone().unwrap_or_default()), "bearer" => "bearer token".into(), _ => "no credentials".into() }}</span></td>
                                                <td data-label="Schedule">{format!("every {} h", p.every_hours)}{(p.window_start != 0 || p.window_end != 24).then(|| format!(", {:02}:00–{:02}:00 UTC", p.window_start, p.window_end))}{p.paused.then_some(" · paused")}</td>
                                                <td data-label="Last pull" data-testid="pull-last">
                                                    {p.last_status.clone().map(|s| view! { <span class=format!("badge {s}")>{s.clone()}</span> })}
                                                    {p.last_attempt_at.clone().map(|t| format!(" {t}"))}
                                                    {p.last_message.clone().map(|m| view! { <br/><span class="sub">{m}</span> })}
                                                    {p.last_import_id.map(|i| view! { <br/><a href=format!("/planning/versions/{i}")>"the snapshot"</a> })}
                                                </td>
                                                <td data-label="Next">{if p.paused { "—".to_string() } else { p.next_due_at.clone() }}</td>
                                                <td data-label="Actions" class="actions">
                                                    {(!p.paused).then(|| view! {
                                                        <form method="post" action=action("now") class="inline"><CsrfField/><button type="submit" data-testid="pull-now">"Pull now"</button></form>
                                                    })}
                                                    {manage.then(|| view! {
                                                        <form method="post" action=action(if p.paused { "resume" } else { "pause" }) class="inline"><CsrfField/>
                                                            <button type="submit">{if p.paused { "Resume" } else { "Pause" }}</button>
                                                        </form>
                                                        <form method="post" action=action("delete") class="inline"><CsrfField/><button type="submit" class="danger">"Remove"</button></form>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }}
                        {manage.then(|| view! {
                            <form method="post" action="/planning/pulls" class="card form" data-testid="pull-form">
                                <CsrfField/>
                                <h2>"Set up or change a pull"</h2>
                                <p class="hint">"Saving a source that exists changes its pull; leave the secret empty to keep the stored one."</p>
                                <label for="pull-source">"Source"</label>
                                <input id="pull-source" name="source" required maxlength="80" autocomplete="off"/>
                                <label for="pull-kind">"What the file holds"</label>
                                <select id="pull-kind" name="kind"><option value="forecast" selected>"Forecast snapshot"</option><option value="supply">"Supply recommendations"</option></select>
                                <label for="pull-url">"Address (http or https)"</label>
                                <input id="pull-url" name="url" type="url" required placeholder="https://plan.example.com/export/forecast.csv"/>
                                <label for="pull-auth">"Authentication"</label>
                                <select id="pull-auth" name="auth"><option value="none" selected>"None"</option><option value="basic">"Basic (user and password)"</option><option value="bearer">"Bearer token"</option></select>
                                <label for="pull-user">"User (basic)"</label>
                                <input id="pull-user" name="username" autocomplete="off"/>
                                <label for="pull-secret">"Password or token (stored sealed, never shown)"</label>
                                <input id="pull-secret" name="secret" type="password" autocomplete="new-password"/>
                                <label for="pull-every">"Every how many hours"</label>
                                <input id="pull-every" name="every_hours" type="number" min="1" max="720" value="24" required/>
                                <label for="pull-start">"Window from (UTC hour, optional)"</label>
                                <input id="pull-start" name="window_start" type="number" min="0" max="23"/>
                                <label for="pull-end">"Window until (UTC hour, optional)"</label>
                                <input id="pull-end" name="window_end" type="number" min="1" max="24"/>
                                <button type="submit" class="primary" data-testid="pull-save">"Save the pull"</button>
                            </form>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

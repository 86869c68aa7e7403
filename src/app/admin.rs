//! Onboarding screens: supplier organisations (admins), teams (admins, and supplier admins
//! for their own organisation), the audit log and the Odoo connection (admins).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{CsrfField, IdempotencyField};
use crate::api::admin::{
    admin_suppliers, audit_entries, list_undelivered_mail, role_label, supplier_detail, team,
    InviteUser, LinkVendor, ReplayUndeliveredMail, SetUserActive, UpdateOrganisationMail,
    UpdateSupplierSettings,
};
use crate::api::connection::{odoo_connection, ApplyOdooConnection, ConnectionSource};
use crate::api::tokens::{api_tokens, CreateApiToken, RevokeApiToken};
use crate::model::admin::TeamMember;

/// `/admin/suppliers`: the organisations, and linking a new one to an Odoo vendor.
#[component]
pub fn SuppliersPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.with(|m| m.get("q")).unwrap_or_default();
    let link = ServerAction::<LinkVendor>::new();
    let data = Resource::new(
        move || (q(), link.version().get()),
        |(q, _)| admin_suppliers(q),
    );
    view! {
        <h1>"Supplier organisations"</h1>
        <p class="error" role="alert" data-testid="link-error">{move || super::answered(link)().and_then(|r| r.err()).map(|e| e.to_string())}</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(v) => view! {
                    <p class="hint">{format!("Defaults for every organisation: {}.", v.defaults)}</p>
                    {if v.suppliers.is_empty() { view! { <p class="empty">"No organisation yet: link the first one below."</p> }.into_any() } else { view! {
                        <table class="orders">
                            <thead><tr><th scope="col">"Organisation"</th><th scope="col">"Odoo partner"</th><th scope="col" class="num">"Active users"</th><th scope="col" class="num">"Orders"</th></tr></thead>
                            <tbody>
                                {v.suppliers.into_iter().map(|s| view! {
                                    <tr data-supplier=s.name.clone()>
                                        <td data-label="Organisation"><a href=format!("/admin/suppliers/{}", s.id)>{s.name.clone()}</a></td>
                                        <td data-label="Odoo partner">{s.odoo_partner_id}</td>
                                        <td data-label="Active users" class="num">{s.active_users}</td>
                                        <td data-label="Orders" class="num">{s.visible_orders}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any() }}
                    <h2>"Link a vendor from Odoo"</h2>
                    <form method="get" action="/admin/suppliers" class="filters" role="search">
                        <div class="field">
                            <label for="q">"Vendor name in Odoo"</label>
                            <input id="q" name="q" value=q() placeholder="e.g. Azure" autocomplete="off"/>
                        </div>
                        <button type="submit">"Search Odoo"</button>
                    </form>
                    {v.search_problem.map(|p| view! { <p class="error" role="alert" data-testid="search-problem">{p}</p> })}
                    {v.hits.map(|hits| if hits.is_empty() { view! { <p class="empty">"No company in Odoo has that in its name."</p> }.into_any() } else { view! {
                        <ul class="hits">
                            {hits.into_iter().map(|h| view! {
                                <li class="card" data-vendor=h.name.clone()>
                                    <strong>{h.name.clone()}</strong>
                                    <span class="sub">{[h.city.clone(), h.email.clone(), if h.is_vendor { "vendor".to_string() } else { "not a vendor yet in Odoo".to_string() }].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")}</span>
                                    {match h.linked_supplier_id {
                                        Some(id) => view! { <a href=format!("/admin/suppliers/{id}")>"Linked: open"</a> }.into_any(),
                                        None => view! {
                                            <ActionForm action=link attr:class="inline">
                                                <CsrfField/>
                                                <IdempotencyField/>
                                                <input type="hidden" name="partner_id" value=h.odoo_partner_id/>
                                                <button type="submit" class="primary" data-testid="link">"Link as supplier"</button>
                                            </ActionForm>
                                        }.into_any(),
                                    }}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any() })}
                }.into_any(),
            })}
        </Transition>
    }
}

/// `/admin/suppliers/<id>`: the organisation's settings and its users.
#[component]
pub fn SupplierPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|i| i.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<UpdateSupplierSettings>::new();
    let data = Resource::new(
        move || (id(), save.version().get()),
        |(id, _)| supplier_detail(id),
    );
    view! {
        <p><a href="/admin/suppliers">"← All organisations"</a></p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <h1>"Supplier organisation"</h1><p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(s) => view! {
                    <h1>{s.name.clone()}</h1>
                    <p class="sub">{format!("Odoo partner {} · {} orders in the portal", s.odoo_partner_id, s.visible_orders)}</p>
                    <h2>"Settings"</h2>
                    <ActionForm action=save attr:class="card form">
                        <CsrfField/>
                        <IdempotencyField/>
                        <input type="hidden" name="supplier_id" value=s.id/>
                        <p class="hint">"Leave a field empty to use the default for every organisation."</p>
                        <label for="ack_window_hours">"Hours to acknowledge a released order"</label>
                        <input id="ack_window_hours" name="ack_window_hours" inputmode="numeric" value=s.ack_window_hours.clone()/>
                        <label for="date_tolerance_days">"Date changes accepted without a buyer (± days)"</label>
                        <input id="date_tolerance_days" name="date_tolerance_days" inputmode="numeric" value=s.date_tolerance_days.clone()/>
                        <label for="quantity_tolerance_percent">"Quantity changes accepted without a buyer (± %)"</label>
                        <input id="quantity_tolerance_percent" name="quantity_tolerance_percent" inputmode="decimal" value=s.quantity_tolerance_percent.clone()/>
                        <label for="over_delivery_percent">"Shipments may exceed the open quantity by (%)"</label>
                        <input id="over_delivery_percent" name="over_delivery_percent" inputmode="decimal" value=s.over_delivery_percent.clone()/>
                        <p role="status" data-testid="settings-status">{move || match super::answered(save)() {
                            Some(Ok(o)) => o.message,
                            Some(Err(e)) => e.to_string(),
                            None => String::new(),
                        }}</p>
                        <button type="submit">"Save settings"</button>
                    </ActionForm>
                    <Team supplier=s.id.to_string()/>
                    <ApiTokens supplier=s.id.to_string()/>
                }.into_any(),
            })}
        </Transition>
    }
}

/// `/admin/staff`: buyers and admins.
#[component]
pub fn StaffPage() -> impl IntoView {
    let query = use_query_map();
    let said = move |k: &'static str| query.with(|q| q.get(k)).filter(|m| !m.is_empty());
    view! {
        <h1>"Staff"</h1>
        {move || said("companies_saved").map(|m| view! { <p class="banner ok" role="status" data-testid="companies-result">{m}</p> })}
        {move || said("companies_error").map(|m| view! { <p class="banner error" role="alert" data-testid="companies-result">{m}</p> })}
        <Team supplier=String::new()/>
        // The staff's own integrations, such as the planning system (`planning:write`).
        <ApiTokens supplier=String::new()/>
        <Undelivered/>
    }
}

/// Mail the mail server refused for good, with a way to send it again (shown only when there
/// is some).
#[component]
fn Undelivered() -> impl IntoView {
    let replay = ServerAction::<ReplayUndeliveredMail>::new();
    let data = Resource::new(move || replay.version().get(), |_| list_undelivered_mail());
    view! {
        <p role="status" data-testid="mail-replayed">{move || super::answered(replay)().map(|r| match r {
            Ok(o) => o.message,
            Err(e) => e.to_string(),
        })}</p>
        <Transition fallback=|| ()>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(mails) if mails.is_empty() => ().into_any(),
                Ok(mails) => view! {
                    <section class="card" data-testid="undelivered-mail">
                        <h2>"Mail that could not be sent"</h2>
                        <ul>
                            {mails.into_iter().map(|m| view! {
                                <li>{format!("{} · {} · queued {} · {} attempts: {}", m.to, m.subject, m.queued_at, m.attempts, m.error.unwrap_or_default())}</li>
                            }).collect_view()}
                        </ul>
                        <ActionForm action=replay>
                            <CsrfField/>
                            <button type="submit">"Send it again"</button>
                        </ActionForm>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

/// `/team`: a supplier admin's colleagues.
#[component]
pub fn TeamPage() -> impl IntoView {
    view! {
        <h1>"Your team"</h1>
        <Team supplier=String::new()/>
        <ApiTokens supplier=String::new()/>
    }
}

/// The organisation's API tokens: its systems reach `/api/v1` with them. Created here (the
/// token shown once), listed without their secret, revoked at once.
#[component]
fn ApiTokens(supplier: String) -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let asked = supplier.clone();
    let data = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| api_tokens(asked.clone()),
    );
    view! {
        <h2 id="api-tokens">"API tokens"</h2>
        <p class="hint">"For your own systems (an ERP, a warehouse system): they call the Millrace API (" <a href="/api/v1/openapi.json">"reference"</a> ") with a token instead of signing in. Each token does only what is ticked, and its actions show in the order history under its name."</p>
        <p class="error" role="alert" data-testid="token-error">{move || super::answered(revoke)().and_then(|r| r.err()).map(|e| e.to_string())}</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading tokens…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(t) => { let owner = supplier.clone(); view! {
                    {if t.tokens.is_empty() { view! { <p class="empty">"No tokens yet."</p> }.into_any() } else { view! {
                        <table class="orders">
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"May"</th><th scope="col">"Last used"</th><th scope="col">"Expires"</th><th scope="col"><span class="visually-hidden">"Action"</span></th></tr></thead>
                            <tbody>
                                {t.tokens.into_iter().map(|k| view! {
                                    <tr data-token=k.name.clone()>
                                        <td data-label="Name">{k.name.clone()}<br/><small>{format!("by {} on {}", k.created_by, k.created_at)}</small></td>
                                        <td data-label="Token"><code>{format!("{}…", k.prefix)}</code></td>
                                        <td data-label="May">{k.scopes.join(", ")}</td>
                                        <td data-label="Last used">{k.last_used_at.clone().unwrap_or_else(|| "never".into())}</td>
                                        <td data-label="Expires">{k.expires_at.clone().unwrap_or_else(|| "never".into())}</td>
                                        <td data-testid="token-state">{match k.revoked_at.clone() {
                                            Some(at) => view! { <span>{format!("Revoked {at}")}</span> }.into_any(),
                                            None => view! {
                                                <ActionForm action=revoke attr:class="inline">
                                                    <CsrfField/>
                                                    <IdempotencyField/>
                                                    <input type="hidden" name="token_id" value=k.id/>
                                                    <button type="submit" data-testid="revoke-token">"Revoke"</button>
                                                </ActionForm>
                                            }.into_any(),
                                        }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any() }}
                    <ActionForm action=create attr:class="card form">
                        <CsrfField/>
                        <IdempotencyField/>
                        <input type="hidden" name="supplier" value=owner.clone()/>
                        <label for="token-name">"For which system"</label>
                        <input id="token-name" name="name" autocomplete="off" required maxlength="80" placeholder="Our ERP"/>
                        <fieldset>
                            <legend>"It may"</legend>
                            {t.scopes.into_iter().map(|(field, label)| view! {
                                <label class="check"><input type="checkbox" name=field value="on"/>{format!(" {label}")}</label>
                            }).collect_view()}
                        </fieldset>
                        <label for="token-expiry">"Expires after (days; empty: never)"</label>
                        <input id="token-expiry" name="expires_in_days" inputmode="numeric" autocomplete="off"/>
                        <button type="submit" data-testid="create-token">"Create token"</button>
                    </ActionForm>
                    {move || super::answered(create)().map(|r| match r {
                        Ok(c) => view! {
                            <div class="card" role="status" data-testid="token-created">
                                <p>{c.message.clone()}</p>
                                {c.secret.clone().map(|s| view! { <p><code data-testid="token-secret">{s}</code></p> })}
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert" data-testid="token-created">{e.to_string()}</p> }.into_any(),
                    })}
                }.into_any() }
            })}
        </Transition>
    }
    .into_any()
}

/// The users of one organisation (or the staff): invite, deactivate, reactivate.
#[component]
fn Team(supplier: String) -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let mail = ServerAction::<UpdateOrganisationMail>::new();
    let asked = supplier.clone();
    let data = Resource::new(
        move || {
            (
                invite.version().get(),
                set_active.version().get(),
                mail.version().get(),
            )
        },
        move |_| team(asked.clone()),
    );
    view! {
        <h2>"Users"</h2>
        <p class="error" role="alert" data-testid="team-error">{move || super::answered(set_active)().and_then(|r| r.err()).map(|e| e.to_string())}</p>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading users…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(t) => {
                    let viewer = t.viewer_id;
                    let choices = t.companies.clone();
                    let limits_column = !choices.is_empty();
                    let scope = t.supplier_id.map(|s| s.to_string()).unwrap_or_default();
                    let mail_scope = scope.clone();
                    view! {
                        {t.organisation.clone().map(|o| view! { <p class="sub">{o}</p> })}
                        {if t.members.is_empty() { view! { <p class="empty">"Nobody yet: invite the first user below."</p> }.into_any() } else { view! {
                            <table class="orders">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Status"</th>{limits_column.then(|| view! { <th scope="col">"Companies"</th> }.into_any())}<th scope="col"><span class="visually-hidden">"Action"</span></th></tr></thead>
                                <tbody>
                                    {t.members.into_iter().map(|m| {
                                        let status = if !m.active { "Deactivated" } else if m.invitation_pending { "Invited" } else { "Active" };
                                        view! {
                                            <tr data-user=m.email.clone()>
                                                <td data-label="Name">{m.display_name.clone()}</td>
                                                <td data-label="Email">{m.email.clone()}</td>
                                                <td data-label="Role">{role_label(&m.role)}</td>
                                                <td data-label="Status" data-testid="user-status">{status}</td>
                                                {limits_column.then(|| view! { <td data-label="Companies"><CompanyLimits member=m.clone() choices=choices.clone()/></td> }.into_any())}
                                                <td>{(m.id != viewer).then(|| view! {
                                                    <ActionForm action=set_active attr:class="inline">
                                                        <CsrfField/>
                                                        <IdempotencyField/>
                                                        <input type="hidden" name="user_id" value=m.id/>
                                                        <input type="hidden" name="active" value={(!m.active).to_string()}/>
                                                        <button type="submit" data-testid={if m.active { "deactivate" } else { "reactivate" }}>
                                                            {if m.active { "Deactivate" } else { "Reactivate" }}
                                                        </button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() }}
                        {t.mail.clone().map(|m| view! {
                            <h2>"Order mail for the organisation"</h2>
                            <ActionForm action=mail attr:class="card form">
                                <CsrfField/>
                                <IdempotencyField/>
                                <input type="hidden" name="supplier" value=mail_scope/>
                                <label class="check"><input type="checkbox" name="notify_orders" value="on" checked=m.notify_orders/>" Mail our users when an order is released or changed (each can still turn it off on their account page)"</label>
                                <label for="copy-to">"Also send a copy to (a shared mailbox)"</label>
                                <input id="copy-to" name="copy_to" type="email" value=m.copy_to.clone() placeholder="orders@company.example" autocomplete="off"/>
                                <p role="status" data-testid="org-mail-status">{move || match super::answered(mail)() {
                                    Some(Ok(o)) => o.message,
                                    Some(Err(e)) => e.to_string(),
                                    None => String::new(),
                                }}</p>
                                <button type="submit" data-testid="save-org-mail">"Save order mail"</button>
                            </ActionForm>
                        })}
                        <h2>"Invite someone"</h2>
                        <ActionForm action=invite attr:class="card form">
                            <CsrfField/>
                            <IdempotencyField/>
                            <input type="hidden" name="supplier" value=scope/>
                            <label for="invite-name">"Name"</label>
                            <input id="invite-name" name="display_name" autocomplete="off" required/>
                            <label for="invite-email">"Email"</label>
                            <input id="invite-email" name="email" type="email" autocomplete="off" required/>
                            <label for="invite-role">"Role"</label>
                            <select id="invite-role" name="role">
                                {t.roles.into_iter().map(|(code, label)| view! { <option value=code>{label}</option> }).collect_view()}
                            </select>
                            <p class="hint">"They get an email with a link to choose their password, valid 7 days."</p>
                            <p role="status" data-testid="invite-status">{move || match super::answered(invite)() {
                                Some(Ok(m)) => m,
                                Some(Err(e)) => e.to_string(),
                                None => String::new(),
                            }}</p>
                            <button type="submit" data-testid="invite">"Send invitation"</button>
                        </ActionForm>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// A buyer's company limits: what they see now, and (a plain form, working before
/// hydration) the companies to tick; none ticked is every company. Admins see every company.
#[component]
fn CompanyLimits(member: TeamMember, choices: Vec<(i64, String)>) -> impl IntoView {
    let name_of = |id: i64| {
        choices
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("company {id}"))
    };
    let now = if member.role != "buyer" || member.companies.is_empty() {
        "All companies".to_string()
    } else {
        member
            .companies
            .iter()
            .map(|id| name_of(*id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <span data-testid="user-companies">{now}</span>
        {(member.role == "buyer").then(|| view! {
            <form method="post" action="/admin/staff-companies" class="inline companies">
                <CsrfField/>
                <IdempotencyField/>
                <input type="hidden" name="user_id" value=member.id/>
                <fieldset>
                    <legend class="visually-hidden">{format!("Companies {} sees", member.display_name)}</legend>
                    {choices.iter().map(|(id, name)| view! {
                        <label class="check"><input type="checkbox" name="company" value=*id checked=member.companies.contains(id)/>{format!(" {name}")}</label>
                    }).collect_view()}
                </fieldset>
                <button type="submit" data-testid="save-companies">"Limit to ticked (none: all)"</button>
            </form>
        })}
    }
    .into_any()
}

/// `/admin/audit`: who did what, when, from where.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &'static str| move || query.with(|m| m.get(k)).unwrap_or_default();
    let (action, actor, from, to) = (get("action"), get("actor"), get("from"), get("to"));
    let data = Resource::new(
        move || (action(), actor(), from(), to()),
        |(a, b, c, d)| audit_entries(a, b, c, d),
    );
    view! {
        <h1>"Audit log"</h1>
        <form method="get" action="/admin/audit" class="filters">
            <div class="field"><label for="action">"Action contains"</label><input id="action" name="action" value=action()/></div>
            <div class="field"><label for="actor">"By (email contains)"</label><input id="actor" name="actor" value=actor()/></div>
            <div class="field"><label for="from">"From"</label><input id="from" name="from" type="date" value=from()/></div>
            <div class="field"><label for="to">"To"</label><input id="to" name="to" type="date" value=to()/></div>
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(rows) if rows.is_empty() => view! { <p class="empty">"Nothing matches."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="orders">
                        <thead><tr><th scope="col">"When (UTC)"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"On"</th><th scope="col">"Detail"</th><th scope="col">"From"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|e| view! {
                                <tr data-audit=e.action.clone()>
                                    <td data-label="When">{e.at.clone()}</td>
                                    <td data-label="Who">{e.actor.clone()}</td>
                                    <td data-label="Action">{e.action.clone()}</td>
                                    <td data-label="On">{e.target.clone()}</td>
                                    <td data-label="Detail">{e.detail.clone()}</td>
                                    <td data-label="From">{e.ip.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}

/// `/admin/odoo`: the Odoo connection: where it comes from, whether this instance is
/// connected, and new settings (tested before they are saved; the API key never shown).
#[component]
pub fn OdooPage() -> impl IntoView {
    let apply = ServerAction::<ApplyOdooConnection>::new();
    let data = Resource::new(move || apply.version().get(), |_| odoo_connection());
    view! {
        <h1>"Odoo connection"</h1>
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(v) => {
                    let source = match v.source {
                        ConnectionSource::AdminPage => format!(
                            "Saved on this page by {} on {} (revision {}).",
                            v.saved_by.clone().unwrap_or_else(|| "a former admin".into()),
                            v.saved_at.clone().unwrap_or_default(),
                            v.revision.unwrap_or_default()
                        ),
                        ConnectionSource::Environment => "From the server's MILLRACE_ODOO_* settings; saving here takes over from them.".to_string(),
                        ConnectionSource::None => "Not configured: enter the settings below.".to_string(),
                    };
                    let stale = v.revision.is_some() && v.running_revision != v.revision;
                    view! {
                        <section class="card" data-testid="connection-status">
                            <p data-testid="connection-source">{source}</p>
                            {(!v.url.is_empty()).then(|| view! {
                                <p>{format!("{} · database {} · as {}", v.url, v.database, v.login)}</p>
                            })}
                            <p data-testid="connection-state" class=if v.connected.is_some() && !stale { "ok" } else { "error" }>
                                {match (&v.connected, stale) {
                                    (Some(c), false) => format!("This instance is connected: {c}."),
                                    (Some(c), true) => format!("This instance still runs on earlier settings ({c}); it switches within seconds, or keeps them while the new ones fail."),
                                    (None, _) => "This instance is not connected to Odoo; supplier answers wait in the outbox and nothing is lost.".to_string(),
                                }}
                            </p>
                            {v.problem.clone().map(|p| view! { <p class="error" role="alert" data-testid="connection-problem">{p}</p> })}
                            {(!v.instances.is_empty()).then(|| {
                                let wanted = v.revision;
                                let behind = v.instances.iter().filter(|i| i.revision != wanted).count();
                                view! {
                                    <p data-testid="instances-summary">{if behind == 0 {
                                        format!("All {} running instance(s) use revision {}: an old API key may be revoked in Odoo now.", v.instances.len(), wanted.unwrap_or_default())
                                    } else {
                                        format!("{behind} of {} running instance(s) still on other settings: keep the old API key valid in Odoo until they switch.", v.instances.len())
                                    }}</p>
                                    <table class="orders" data-testid="instances">
                                        <thead><tr><th scope="col">"Instance"</th><th scope="col">"Runs revision"</th><th scope="col">"Problem"</th></tr></thead>
                                        <tbody>
                                            {v.instances.iter().map(|i| view! {
                                                <tr>
                                                    <td data-label="Instance">{i.instance.clone()}{i.this.then_some(" (this one)")}</td>
                                                    <td data-label="Runs revision">{i.revision.map(|r| r.to_string()).unwrap_or_else(|| "not connected".into())}</td>
                                                    <td data-label="Problem">{i.problem.clone().unwrap_or_default()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }
                            })}
                        </section>
                        <h2>"Settings"</h2>
                        {(!v.can_save).then(|| view! {
                            <p class="hint" data-testid="no-sealing-key">"Saving needs MILLRACE_SECRET_KEY on the server (it seals the API key). You can still test settings here."</p>
                        })}
                        <ActionForm action=apply attr:class="card form">
                            <CsrfField/>
                            <IdempotencyField/>
                            <label for="odoo-url">"Odoo URL"</label>
                            <input id="odoo-url" name="url" type="url" value=v.url.clone() placeholder="https://mycompany.odoo.com" required/>
                            <label for="odoo-db">"Database"</label>
                            <input id="odoo-db" name="database" value=v.database.clone() autocomplete="off" required/>
                            <label for="odoo-login">"Login of the portal's Odoo user"</label>
                            <input id="odoo-login" name="login" value=v.login.clone() autocomplete="off" required/>
                            <label for="odoo-key">"API key"</label>
                            <input id="odoo-key" name="api_key" type="password" autocomplete="new-password" placeholder="leave empty to keep the current key"/>
                            <p class="hint">"To rotate the key: create a second API key for this user in Odoo, save it here, then revoke the old one in Odoo once every instance has switched (each checks every 5 seconds; the list above shows them). Deliveries go on meanwhile."</p>
                            <div class="actions">
                                <button type="submit" name="intent" value="test" data-testid="test-connection">"Test connection"</button>
                                <button type="submit" name="intent" value="save" class="primary" data-testid="save-connection">"Save"</button>
                            </div>
                        </ActionForm>
                    }.into_any()
                }
            })}
        </Transition>
        <section data-testid="check-outcome" aria-live="polite">
            {move || super::answered(apply)().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(o) => view! {
                    <p class="ok">{match o.saved_revision {
                        Some(rev) => format!("Saved as revision {rev}; this instance now uses it, the others within seconds."),
                        None if o.problems.is_empty() => "Odoo accepted these settings; nothing was saved yet.".to_string(),
                        None => "Odoo answered, but the portal would miss what is listed below; nothing was saved.".to_string(),
                    }}</p>
                    <ul>{o.lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    {(!o.problems.is_empty()).then(|| view! {
                        <p class="error">"Missing in Odoo:"</p>
                        <ul>{o.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    })}
                    {(!o.optional.is_empty()).then(|| view! {
                        <p>"Optional parts this Odoo does not have (the portal works without them):"</p>
                        <ul data-testid="optional-missing">{o.optional.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    })}
                }.into_any(),
            })}
        </section>
    }
}

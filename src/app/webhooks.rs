//! `/webhooks`: where an organisation's admin (or, for the staff's systems, an admin) points
//! the portal's events at their own systems.

use leptos::prelude::*;

use crate::api::webhooks::{webhooks, ActOnWebhook, CreateWebhook, RotateWebhookSecret};
use crate::app::{CsrfField, IdempotencyField};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let act = ServerAction::<ActOnWebhook>::new();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                act.version().get(),
            )
        },
        |_| webhooks(),
    );
    view! {
        <h1>"Webhooks"</h1>
        <p class="hint">"Millrace tells your systems what happens (orders released and changed, answers, shipment notices, receipts) by POSTing each event to the addresses below, signed as the "<a href="https://www.standardwebhooks.com/">"Standard Webhooks"</a>" specification describes. Every event is delivered at least once, in order per order, retried for hours; its "<code>"webhook-id"</code>" tells a repeat apart. Systems that cannot receive can read the same events from "<code>"GET /api/v1/events"</code>" with an API token."</p>
        <p role="status" data-testid="webhook-status">{move || match super::answered(act)() {
            Some(Ok(o)) => o.message,
            Some(Err(e)) => e.to_string(),
            None => String::new(),
        }}</p>
        {move || super::answered(rotate)().map(|r| match r {
            Ok(c) => view! {
                <div class="card" role="status" data-testid="webhook-rotated">
                    <p>{c.message.clone()}</p>
                    {c.secret.clone().map(|s| view! { <p><code data-testid="webhook-secret">{s}</code></p> })}
                </div>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert" data-testid="webhook-rotated">{e.to_string()}</p> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert" data-testid="webhooks-error">{e.to_string()}</p> }.into_any(),
                Ok(v) => view! {
                    <p class="sub">{format!("Subscribers of {}", v.owner)}</p>
                    {if v.subscriptions.is_empty() { view! { <p class="empty">"No subscribers yet."</p> }.into_any() } else {
                        v.subscriptions.into_iter().map(|s| subscription(s, act, rotate)).collect_view().into_any()
                    }}
                    <h2>"Add a subscriber"</h2>
                    <ActionForm action=create attr:class="card form">
                        <CsrfField/>
                        <IdempotencyField/>
                        <label for="webhook-name">"For which system"</label>
                        <input id="webhook-name" name="name" autocomplete="off" required maxlength="80" placeholder="Our ERP"/>
                        <label for="webhook-url">"Address (https)"</label>
                        <input id="webhook-url" name="url" type="url" autocomplete="off" required placeholder="https://erp.example.com/hooks/millrace"/>
                        <fieldset>
                            <legend>"Events (none ticked: all of them)"</legend>
                            {v.types.into_iter().map(|(field, label)| view! {
                                <label class="check"><input type="checkbox" name=field value="on"/>{format!(" {label}")}</label>
                            }).collect_view()}
                        </fieldset>
                        <button type="submit" data-testid="create-webhook">"Add subscriber"</button>
                    </ActionForm>
                    {move || super::answered(create)().map(|r| match r {
                        Ok(c) => view! {
                            <div class="card" role="status" data-testid="webhook-created">
                                <p>{c.message.clone()}</p>
                                {c.secret.clone().map(|s| view! { <p><code data-testid="webhook-secret">{s}</code></p> })}
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert" data-testid="webhook-created">{e.to_string()}</p> }.into_any(),
                    })}
                }.into_any(),
            })}
        </Transition>
    }
    .into_any()
}

fn subscription(
    s: crate::api::webhooks::SubscriptionView,
    act: ServerAction<ActOnWebhook>,
    rotate: ServerAction<RotateWebhookSecret>,
) -> AnyView {
    let id = s.id;
    let button = move |action: &'static str, label: &'static str| {
        view! {
            <ActionForm action=act attr:class="inline">
                <CsrfField/>
                <IdempotencyField/>
                <input type="hidden" name="subscription_id" value=id/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" data-testid=format!("webhook-{action}")>{label}</button>
            </ActionForm>
        }
    };
    let paused = s.state == "paused";
    view! {
        <section class="card" data-webhook=s.name.clone()>
            <h2>{s.name.clone()}</h2>
            <p><code>{s.url.clone()}</code></p>
            <p data-testid="webhook-state">{if paused {
                format!("Paused: {}", s.paused_reason.clone().unwrap_or_default())
            } else {
                "Active".to_string()
            }}</p>
            <p class="sub">{if s.event_types.is_empty() { "Every event".to_string() } else { s.event_types.join(", ") }}</p>
            <p class="sub" data-testid="webhook-counts">{format!(
                "{} waiting · {} dead letters · {} failures in a row · last success {} · created {}",
                s.pending, s.dead, s.consecutive_failures,
                s.last_success_at.clone().unwrap_or_else(|| "never".into()), s.created_at
            )}</p>
            {s.rotating_until.clone().map(|u| view! { <p class="hint">{format!("The previous secret signs too until {u}.")}</p> })}
            <div class="actions">
                {button("test", "Send a test event")}
                {if paused { button("resume", "Resume").into_any() } else { button("pause", "Pause").into_any() }}
                {(s.dead > 0).then(|| button("replay", "Send dead letters again"))}
                <ActionForm action=rotate attr:class="inline">
                    <CsrfField/>
                    <IdempotencyField/>
                    <input type="hidden" name="subscription_id" value=id/>
                    <button type="submit" data-testid="webhook-rotate">"New secret"</button>
                </ActionForm>
                {button("delete", "Delete")}
            </div>
            <h3>"Latest deliveries"</h3>
            {if s.attempts.is_empty() { view! { <p class="empty">"Nothing sent yet."</p> }.into_any() } else { view! {
                <table class="orders" data-testid="webhook-log">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"Event"</th><th scope="col">"Answer"</th><th scope="col" class="num">"ms"</th></tr></thead>
                    <tbody>
                        {s.attempts.into_iter().map(|a| view! {
                            <tr class=if a.ok { "ok" } else { "failed" }>
                                <td data-label="When">{a.at}</td>
                                <td data-label="Event">{a.event_type}<br/><small>{a.message_id}</small></td>
                                <td data-label="Answer">{a.result}</td>
                                <td data-label="ms" class="num">{a.duration_ms}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any() }}
        </section>
    }
    .into_any()
}

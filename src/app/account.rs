//! The user's own settings: time zone, password.

use leptos::prelude::*;

use super::CsrfField;
use crate::api::auth::{
    notification_settings, time_zones, whoami, ChangePassword, SendDigestNow, UpdateNotifications,
    UpdateTimeZone,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let update_zone = ServerAction::<UpdateTimeZone>::new();
    let change = ServerAction::<ChangePassword>::new();
    let viewer = Resource::new(move || update_zone.version().get(), |_| whoami());
    let zones = Resource::new(|| (), |_| time_zones());
    let zone_result = move || super::answered(update_zone)();
    view! {
        <h1>"Your account"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || match (viewer.get(), zones.get()) {
                (Some(Ok(Some(v))), Some(Ok(zones))) => view! {
                    <p>{format!("{} · {}", v.display_name, v.email)}</p>
                    <ActionForm action=update_zone attr:class="card form">
                        <CsrfField/>
                        <label for="time_zone">"Time zone (times on every page are shown in it)"</label>
                        <select id="time_zone" name="time_zone">
                            {zones.into_iter().map(|z| {
                                let selected = z == v.time_zone;
                                view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
                            }).collect_view()}
                        </select>
                        <p role="status" data-testid="zone-status">{move || match zone_result() {
                            Some(Ok(())) => "Saved.".to_string(),
                            Some(Err(e)) => e.to_string(),
                            None => String::new(),
                        }}</p>
                        <button type="submit">"Save time zone"</button>
                    </ActionForm>
                }.into_any(),
                _ => view! { <p class="loading">"Loading…"</p> }.into_any(),
            }}
        </Transition>
        <Notifications/>
        <h2>"Change password"</h2>
        <ActionForm action=change attr:class="card form">
            <CsrfField/>
            <label for="current">"Current password"</label>
            <input id="current" name="current" type="password" autocomplete="current-password" required/>
            <label for="password">"New password (at least 10 characters)"</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required/>
            <label for="confirm">"The same again"</label>
            <input id="confirm" name="confirm" type="password" autocomplete="new-password" required/>
            <p class="hint">"Changing it signs you out everywhere, here included."</p>
            <p class="error" role="alert">{move || super::answered(change)().and_then(|r| r.err()).map(|e| e.to_string())}</p>
            <button type="submit">"Change password"</button>
        </ActionForm>
    }
}

/// Which mails the user gets.
#[component]
fn Notifications() -> impl IntoView {
    let update = ServerAction::<UpdateNotifications>::new();
    let digest_now = ServerAction::<SendDigestNow>::new();
    let settings = Resource::new(move || update.version().get(), |_| notification_settings());
    view! {
        <h2>"Email"</h2>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || settings.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(n) => view! {
                    <ActionForm action=update attr:class="card form">
                        <CsrfField/>
                        {if n.staff { view! {
                            <label class="check"><input type="checkbox" name="digest" checked=n.digest data-testid="notify-digest"/>" Email me a digest of the exceptions (daily, when there are any)"</label>
                        }.into_any() } else { view! {
                            <label class="check"><input type="checkbox" name="order_mails" checked=n.order_mails data-testid="notify-orders"/>" Email me when an order is released to us or changed by the buyer"</label>
                            {n.organisation_off.then(|| view! {
                                <p class="hint" data-testid="organisation-mail-off">"Your organisation has turned order mail off for everyone; your supplier admin can turn it back on on the Team page."</p>
                            })}
                        }.into_any() }}
                        <p role="status" data-testid="notify-status">{move || match super::answered(update)() {
                            Some(Ok(())) => "Saved.".to_string(),
                            Some(Err(e)) => e.to_string(),
                            None => String::new(),
                        }}</p>
                        <button type="submit">"Save email settings"</button>
                    </ActionForm>
                    {n.staff.then(|| view! {
                        <ActionForm action=digest_now attr:class="inline">
                            <CsrfField/>
                            <button type="submit" data-testid="digest-now">"Email me the digest now"</button>
                        </ActionForm>
                        <p role="status" data-testid="digest-status">{move || match super::answered(digest_now)() {
                            Some(Ok(m)) => m,
                            Some(Err(e)) => e.to_string(),
                            None => String::new(),
                        }}</p>
                    })}
                }.into_any(),
            })}
        </Transition>
    }
}

//! Forgotten password: ask for a link, then choose a new password with it.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::CsrfField;
use crate::api::auth::{CompletePasswordReset, RequestPasswordReset};

#[component]
pub fn RequestReset() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let outcome = move || super::answered(request)();
    view! {
        <main class="page login">
            <h1>"Reset your password"</h1>
            <ActionForm action=request attr:class="card form">
                <CsrfField/>
                <label for="email">"Email you sign in with"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
                <p role="status" data-testid="reset-status">{move || match outcome() {
                    Some(Ok(m)) => m,
                    _ => String::new(),
                }}</p>
                <p class="error" role="alert">{move || outcome().and_then(|r| r.err()).map(|e| e.to_string())}</p>
                <button type="submit" class="primary">"Send me a link"</button>
            </ActionForm>
            <p><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}

#[component]
pub fn ChooseNewPassword() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token")).unwrap_or_default();
    let complete = ServerAction::<CompletePasswordReset>::new();
    let error = move || {
        super::answered(complete)()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <main class="page login">
            <h1>"Choose a new password"</h1>
            <ActionForm action=complete attr:class="card form">
                <CsrfField/>
                <input type="hidden" name="token" value=token/>
                <label for="password">"New password (at least 10 characters)"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required/>
                <label for="confirm">"The same again"</label>
                <input id="confirm" name="confirm" type="password" autocomplete="new-password" required/>
                <p class="error" role="alert">{error}</p>
                <button type="submit" class="primary">"Set password"</button>
            </ActionForm>
        </main>
    }
}

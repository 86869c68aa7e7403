//! The sign-in page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::CsrfField;
use crate::api::auth::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || {
        query
            .with(|q| q.get("next"))
            .unwrap_or_else(|| "/orders".into())
    };
    let was_reset = move || query.with(|q| q.get("reset")).is_some();
    let error = move || {
        super::answered(login)()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <main class="page login">
            <h1>"Sign in to Millrace"</h1>
            <p class="hint">"The supplier portal of your customer's purchasing team."</p>
            {move || was_reset().then(|| view! { <p class="banner ok" role="status">"Your password was changed and every session was signed out. Sign in with the new password."</p> })}
            <ActionForm action=login attr:class="card form" attr:aria-describedby="login-error">
                <CsrfField/>
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <p id="login-error" class="error" role="alert">{error}</p>
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p><a href="/password-reset">"Forgot your password?"</a></p>
        </main>
    }
}

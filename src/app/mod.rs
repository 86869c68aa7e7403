//! The Leptos UI: the HTML shell, the router, the layout, and pages per audience. Pages talk
//! to the server only through `api/` server functions; no SQL or Odoo here.

mod account;
mod admin;
mod buyer;
#[cfg(feature = "hydrate")]
mod enhance;
mod login;
pub(crate) mod order_document;
mod orders;
mod password_reset;
mod performance;
mod planning;
mod planning_items;
mod planning_signals;
mod planning_sources;
mod planning_trace;
mod shipments;
mod webhooks;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode, StaticSegment};

use crate::api::auth::Logout;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="csrf-token" content=csrf_token()/>
                // Only while `cargo leptos watch` serves: read once, not on every page.
                {watching().then(|| view! { <AutoReload options=options.clone()/> })}
                // The stylesheet under its content-hashed name when the site has one (hash.txt).
                <link id="leptos" rel="stylesheet" href=stylesheet_href(&options)/>
                <IslandScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Leptos's `HydrationScripts` in islands mode, its text rendered once per site rather than
/// on every page (`server::assets::island_scripts`), with this page's nonce.
#[component]
fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        // As `HydrationScripts` does in islands mode: only the islands hydrate, not the page.
        if let Some(context) = Owner::current_shared_context() {
            context.set_is_hydrating(false);
        }
        let nonce = leptos::nonce::use_nonce();
        leptos::tachys::html::InertElement::new(crate::server::assets::island_scripts(
            &options,
            nonce.as_deref(),
        ))
    }
    #[cfg(not(feature = "ssr"))]
    view! { <HydrationScripts options islands=true/> }
}

/// Whether `cargo leptos watch` started this server (`LEPTOS_WATCH`, as `AutoReload`
/// reads it): its reload script then goes on every page, and the security policy lets it
/// connect to its socket. Read once per process.
pub(crate) fn watching() -> bool {
    static WATCHING: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("LEPTOS_WATCH").is_some());
    *WATCHING
}

/// The stylesheet's path, under its content-hashed name when the site has one
/// (`server::assets::stylesheet_href`).
fn stylesheet_href(options: &LeptosOptions) -> String {
    #[cfg(feature = "ssr")]
    {
        crate::server::assets::stylesheet_href(options)
    }
    #[cfg(not(feature = "ssr"))]
    {
        format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
    }
}

/// The session's CSRF token, from the request. Pages render on the server only (islands
/// hydrate, the forms never do), so there is no browser side to it.
pub fn csrf_token() -> String {
    #[cfg(feature = "ssr")]
    {
        with_context::<http::request::Parts, _>(|p| {
            p.extensions
                .get::<crate::server::auth::csrf::CsrfToken>()
                .map(|t| t.0.clone())
        })
        .flatten()
        .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// The date part of a time the server formatted (`2026-12-06 09:00 CET` → `2026-12-06`).
/// Times arrive already in the user's time zone.
pub(crate) fn day(s: &str) -> String {
    s.get(..10).unwrap_or(s).to_string()
}

/// Percent-encodes a query-string value.
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The hidden field every form carries; the server refuses state changes without it.
#[component]
pub fn CsrfField() -> impl IntoView {
    view! { <input type="hidden" name="csrf_token" value=csrf_token()/> }
}

/// The hidden idempotency key every state-changing form carries (`server::idempotency`): a
/// doubled or retried submission of the same form acts once. Every server render gives the
/// form a new key, so the next action from the page that answers is not taken for a repeat.
#[component]
pub fn IdempotencyField() -> impl IntoView {
    view! { <input type="hidden" name="idempotency_key" value=new_form_key()/> }
}

/// 128 random bits as hex (uuid v4: rand's generator, seeded from the OS). Forms render
/// on the server only.
fn new_form_key() -> String {
    #[cfg(feature = "ssr")]
    {
        uuid::Uuid::new_v4().simple().to_string()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// What `action` answered: its value once dispatched in the browser (by an island), else
/// on the page a plain form post came back to, the answer `server::flash` kept for it
/// (errors come back in the URL, where `ServerAction::new` finds them).
pub fn answered<S>(
    action: ServerAction<S>,
) -> impl Fn() -> Option<Result<S::Output, S::Error>> + Copy + Send + Sync + 'static
where
    S: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    S::Output: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    S::Error: Clone + Send + Sync + 'static,
{
    let flashed = StoredValue::new(flashed::<S>());
    move || action.value().get().or_else(|| flashed.get_value().map(Ok))
}

#[cfg(feature = "ssr")]
fn flashed<S: leptos::server_fn::ServerFn>() -> Option<S::Output>
where
    S::Output: serde::de::DeserializeOwned,
{
    with_context::<http::request::Parts, _>(|parts| {
        let flash = parts.extensions.get::<crate::server::flash::Flash>()?;
        (flash.path == S::PATH)
            .then(|| serde_json::from_str(&flash.body).ok())
            .flatten()
    })
    .flatten()
}

#[cfg(not(feature = "ssr"))]
fn flashed<S: leptos::server_fn::ServerFn>() -> Option<S::Output> {
    None
}

/// The one island, on every page: marks the page hydrated (`data-hydrated`, what the
/// end-to-end tests wait for) and posts forms in place (`enhance`): the reader keeps their
/// place, a refused form keeps what was typed, a form on its way is not sent twice. Forms
/// work without it, as plain posts.
#[island]
pub fn Enhance() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        enhance::install();
    });
    view! { <span class="sr-only" data-hydrated=move || hydrated.get().to_string()></span> }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Millrace supplier portal"/>
        <Router>
            <div class="app">
                <Enhance/>
                <Routes fallback=|| view! { <main class="page"><h1>"Page not found"</h1><p><a href="/orders">"Go to your orders"</a></p></main> }>
                    <Route path=StaticSegment("") view=|| view! { <Redirect path="/orders"/> }/>
                    <Route path=path!("/login") view=login::LoginPage/>
                    <Route path=path!("/password-reset") view=password_reset::RequestReset/>
                    <Route path=path!("/password-reset/:token") view=password_reset::ChooseNewPassword/>
                    // Async rendering: the HTML is complete before it is sent, so pages work
                    // before (and without) hydration.
                    <Route path=path!("/orders") view=|| view! { <Layout><orders::OrderList/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=|| view! { <Layout><orders::OrderPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/buyer/exceptions") view=|| view! { <Layout><buyer::ExceptionsPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=|| view! { <Layout><account::AccountPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/shipments") view=|| view! { <Layout><shipments::ShipmentList/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/shipments/new") view=|| view! { <Layout><shipments::NewShipment/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/performance") view=|| view! { <Layout><performance::PerformancePage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/team") view=|| view! { <Layout><admin::TeamPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/webhooks") view=|| view! { <Layout><webhooks::WebhooksPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/admin/suppliers") view=|| view! { <Layout><admin::SuppliersPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/admin/suppliers/:id") view=|| view! { <Layout><admin::SupplierPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/admin/staff") view=|| view! { <Layout><admin::StaffPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=|| view! { <Layout><admin::AuditPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning") view=|| view! { <Layout><planning::VersionsPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/versions/:id") view=|| view! { <Layout><planning::VersionPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/mapping") view=|| view! { <Layout><planning::MappingPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/sources") view=|| view! { <Layout><planning_sources::SourcesPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/items/:item") view=|| view! { <Layout><planning_items::ItemPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/rules") view=|| view! { <Layout><planning_items::RulesPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/signals/:id") view=|| view! { <Layout><planning_signals::SignalsPage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/planning/trace") view=|| view! { <Layout><planning_trace::TracePage/></Layout> } ssr=SsrMode::Async/>
                    <Route path=path!("/admin/odoo") view=|| view! { <Layout><admin::OdooPage/></Layout> } ssr=SsrMode::Async/>
                </Routes>
            </div>
        </Router>
    }
}

/// The signed-in user of the page being rendered. Pages render on the server only (islands
/// hydrate, the layout never does), so the request has it: no resource, no suspense.
fn signed_in() -> Option<crate::api::auth::Viewer> {
    #[cfg(feature = "ssr")]
    {
        crate::api::auth::viewer()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Header with navigation and the signed-in user; the page below.
#[component]
fn Layout(children: Children) -> impl IntoView {
    let viewer = signed_in();
    let role = viewer.as_ref().map(|v| v.role.clone());
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/orders">"Millrace"</a>
            <nav aria-label="Main">
                <a href="/orders">"Orders"</a>
                <a href="/shipments">"Shipments"</a>
                <a href="/performance">"Performance"</a>
                {role.map(|role| match role.as_str() {
                    "buyer" => view! { <a href="/buyer/exceptions">"Exceptions"</a> }.into_any(),
                    "planner" => view! {
                        <a href="/buyer/exceptions">"Exceptions"</a>
                        <a href="/planning">"Planning"</a>
                    }.into_any(),
                    "admin" => view! {
                        <a href="/buyer/exceptions">"Exceptions"</a>
                        <a href="/planning">"Planning"</a>
                        <a href="/admin/suppliers">"Suppliers"</a>
                        <a href="/admin/staff">"Staff"</a>
                        <a href="/admin/audit">"Audit log"</a>
                        <a href="/admin/odoo">"Odoo"</a>
                        <a href="/webhooks">"Webhooks"</a>
                    }.into_any(),
                    "supplier_admin" => view! { <a href="/team">"Team"</a><a href="/webhooks">"Webhooks"</a> }.into_any(),
                    _ => ().into_any(),
                })}
            </nav>
            {viewer.map(|v| view! {
                <div class="who">
                    <a class="who-name" data-testid="viewer" href="/account">{v.display_name}</a>
                    <span class="who-org">{v.supplier_name.unwrap_or_else(|| "Buyer's staff".into())}</span>
                    <ActionForm action=logout attr:class="inline">
                        <CsrfField/>
                        <button type="submit" class="link">"Sign out"</button>
                    </ActionForm>
                </div>
            })}
        </header>
        <main class="page" id="main">{children()}</main>
    }
}

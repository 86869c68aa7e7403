//! Everything that runs only on the server: storage, accounts, the Odoo client, the sync,
//! and the wiring of the HTTP application. `main.rs` picks the backends and calls [`run`].

pub mod admin;
pub mod assets;
pub mod auth;
pub mod canonical;
pub mod clock;
pub mod companies;
pub mod conflicts;
pub mod connection;
pub mod db;
pub mod demo;
pub mod discrepancies;
pub mod documents;
pub mod events;
pub mod exceptions;
pub mod flash;
pub mod idempotency;
pub mod jobs;
pub mod notify;
pub mod odoo;
pub mod order_document;
pub mod order_events;
pub mod order_feed;
pub mod order_pdf;
pub mod orders;
pub mod performance;
pub mod planning;
pub mod problem;
pub mod secrets;
pub mod security_headers;
pub mod settings;
pub mod shipments;
pub mod sync;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::sync::{watch, Notify};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::{shell, App};
use db::Db;
use odoo::{OdooClient, OdooLink};
use settings::Settings;

/// What every request and background task shares, behind one `Arc`: a request clones it
/// several times on its way through the layers and server functions, one count each.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Clone)]
pub struct Shared {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    /// Wakes the poller (a webhook arrived).
    pub poll_wake: Arc<Notify>,
    /// Wakes the jobs worker of the Odoo outbox (see [`AppState::wake_jobs`]).
    pub outbox_wake: Arc<Notify>,
    /// Wakes the jobs worker of the other kinds (webhooks, planning pushes, mail).
    pub jobs_wake: Arc<Notify>,
    /// Wakes the scheduled planning pulls (a pull saved or asked for now).
    pub pulls_wake: Arc<Notify>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub health: Arc<telemetry::Health>,
    /// This process among the instances sharing the database (`<pid>-<random>`).
    pub instance: String,
    /// The current Odoo client, when connected; swapped when an admin saves new settings.
    pub odoo: OdooLink,
    /// Requests per API token (`/api/v1`), on this instance.
    pub api_limiter: Arc<crate::rest::Limiter>,
    /// What time it is (tests move it forward).
    pub clock: clock::Clock,
}

impl AppState {
    /// After a commit that queued jobs: both workers look now rather than at their next tick.
    pub fn wake_jobs(&self) {
        self.outbox_wake.notify_one();
        self.jobs_wake.notify_one();
    }

    pub fn new(db: Db, settings: Arc<Settings>, leptos_options: LeptosOptions) -> Self {
        let health = Arc::new(telemetry::Health::default());
        let api_limiter = Arc::new(crate::rest::limiter(settings.api_rate_per_minute));
        Self(Arc::new(Shared {
            db,
            settings,
            leptos_options,
            poll_wake: Arc::new(Notify::new()),
            outbox_wake: Arc::new(Notify::new()),
            jobs_wake: Arc::new(Notify::new()),
            pulls_wake: Arc::new(Notify::new()),
            metrics: telemetry::metrics_handle(),
            api_limiter,
            odoo: OdooLink::observed_by(health.clone()),
            health,
            instance: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            clock: clock::Clock::default(),
        }))
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

/// The HTTP application: pages, server functions, webhook, health; behind the session layer
/// and the request guard (CSRF, user loading, redirect of anonymous visitors), with the
/// security headers on every response and unreadable server function arguments answered 400.
pub async fn router(mut state: AppState) -> Result<Router, sqlx::Error> {
    let store = db::sessions::Sessions::open(state.settings.database_url.expose()).await?;
    let sessions = SessionManagerLayer::new(store)
        .with_name(auth::csrf::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::hours(12),
        ));
    let bundle = assets::Bundle::load(&mut Arc::make_mut(&mut state.0).leptos_options);
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let ctx_state = state.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(telemetry::readyz))
        .route("/metrics", get(telemetry::metrics_endpoint))
        .route("/hooks/odoo/{token}", post(webhook))
        .route("/dev/mailbox", get(mailbox))
        .route("/hooks/demo-receiver", post(demo_receiver))
        .route("/buyer/exceptions.csv", get(exceptions_csv))
        .route("/buyer/proposals/approve", post(approve_proposals))
        .route("/admin/staff-companies", post(staff_companies))
        .route(
            "/shipments/{id}/documents",
            post(documents::upload).layer(axum::extract::DefaultBodyLimit::max(
                documents::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/shipments/{id}/documents/{document}",
            get(documents::download),
        )
        .route("/orders/{id}/pdf", get(order_pdf::download))
        .route(
            planning::forms::UPLOAD_PATH,
            post(planning::forms::upload).layer(axum::extract::DefaultBodyLimit::max(
                planning::forms::MAX_UPLOAD_BYTES,
            )),
        )
        .route(
            "/planning/imports/{id}/validate",
            post(planning::forms::revalidate),
        )
        .route(
            "/planning/imports/{id}/report.csv",
            get(planning::forms::report),
        )
        .route(
            "/planning/versions/{id}/approve",
            post(planning::forms::approve),
        )
        .route(
            "/planning/signals/{id}/{choice}",
            post(planning::push::decide_form),
        )
        .route(
            "/planning/mapping/{what}",
            post(planning::forms::save_mapping),
        )
        .route("/planning/pulls", post(planning::pull::save_form))
        .route(
            "/planning/pulls/{id}/{what}",
            post(planning::pull::change_form),
        )
        .merge(planning::override_forms::routes())
        .merge(assets::bundle_service(&leptos_options, bundle))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let s = ctx_state.clone();
                move || {
                    provide_context(s.clone());
                    security_headers::provide_nonce();
                }
            },
            {
                let o = leptos_options.clone();
                move || shell(o.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(security_headers::provide_nonce, shell))
        .layer(axum::middleware::from_fn(problem::server_fn_arguments))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            flash::keep,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::guard,
        ))
        .layer(sessions)
        // The machine side: bearer tokens, no session, no CSRF (`crate::rest`).
        .nest(crate::rest::PREFIX, crate::rest::router(state.clone()))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ));
    let app = assets::compressed(app);
    Ok(security_headers::on_every_response(app, state.settings.secure_cookies).with_state(state))
}

/// Odoo's "Send Webhook Notification": a hint to poll now. The body is never trusted as data.
async fn webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    use subtle::ConstantTimeEq;
    let Some(expected) = &state.settings.webhook_token else {
        return StatusCode::NOT_FOUND;
    };
    if !bool::from(token.as_bytes().ct_eq(expected.expose().as_bytes())) {
        return StatusCode::NOT_FOUND;
    }
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().expect("webhook rate limit");
    // Rate limited: a burst of webhooks causes one poll; polling still catches everything.
    if last.is_some_and(|t| t.elapsed() < Duration::from_millis(200)) {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    *last = Some(std::time::Instant::now());
    let hint: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    tracing::info!(model = %hint.get("_model").unwrap_or(&serde_json::Value::Null), id = %hint.get("_id").unwrap_or(&serde_json::Value::Null), "odoo webhook: polling now");
    state.poll_wake.notify_one();
    StatusCode::OK
}

/// `GET /buyer/exceptions.csv?supplier=<id>`: the exceptions screen as a spreadsheet.
async fn exceptions_csv(
    State(state): State<AppState>,
    user: Option<axum::Extension<auth::CurrentUser>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    let Some(axum::Extension(user)) = user.filter(|u| u.is_internal()) else {
        return problem::Problem::forbidden("for the buyer's staff only").into_response();
    };
    let scope = exceptions::Scope {
        supplier: q.get("supplier").and_then(|s| s.parse::<i64>().ok()),
        buyer: q
            .get("buyer")
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty()),
        companies: user.companies.clone(),
        plans: user.plans(),
    };
    // The export is streamed (`exceptions::csv`): its first chunk comes once the first
    // section is read, so a failure before then still answers 500; after it, the stream
    // logs the failure and cuts the download short.
    let chunks = match exceptions::started(exceptions::csv(
        state.db.clone(),
        scope,
        exceptions::Windows::of(&state.settings),
    ))
    .await
    {
        Ok(chunks) => chunks,
        Err(e) => {
            return problem::Problem::internal(format_args!("exceptions export: {e}"))
                .into_response()
        }
    };
    tracing::info!(user = user.id, "exceptions exported");
    (
        [
            (http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"exceptions.csv\"",
            ),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// `POST /buyer/proposals/approve` with one `line_id` per ticked proposal: approves them all
/// (a plain form, so it works before hydration), then back to the exceptions screen.
async fn approve_proposals(
    State(state): State<AppState>,
    user: Option<axum::Extension<auth::CurrentUser>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let Some(axum::Extension(user)) = user.filter(|u| u.is_internal()) else {
        return problem::Problem::forbidden("for the buyer's staff only").into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let ids: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "line_id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if ids.is_empty() {
        return axum::response::Redirect::to("/buyer/exceptions?bulk=none").into_response();
    }
    let key = fields
        .iter()
        .find(|(k, _)| k == idempotency::FIELD)
        .map(|(_, v)| v.as_str());
    let approved = match exceptions::approve_many(&state.db, &user, &ids, key).await {
        Ok(n) => n,
        Err(e) => {
            return e
                .into_problem("No proposal waits on these lines.")
                .into_response()
        }
    };
    state.wake_jobs();
    axum::response::Redirect::to(&format!("/buyer/exceptions?bulk={approved}")).into_response()
}

/// `POST /admin/staff-companies` with `user_id` and one `company` per ticked company (none:
/// every company): limits a buyer to some companies (a plain form, so it works before
/// hydration), then back to the staff page, which says what happened.
async fn staff_companies(
    State(state): State<AppState>,
    user: Option<axum::Extension<auth::CurrentUser>>,
    ip: Option<axum::Extension<auth::csrf::ClientIp>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let ip = ip.map(|i| i.0 .0).unwrap_or_else(|| "unknown".into());
    let Some(axum::Extension(user)) = user.filter(|u| u.role == auth::Role::Admin) else {
        return (StatusCode::FORBIDDEN, "for administrators only").into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let back = |param: &str, message: &str| {
        let query = serde_urlencoded::to_string([(param, message)]).unwrap_or_default();
        axum::response::Redirect::to(&format!("/admin/staff?{query}")).into_response()
    };
    let Some(target) = value("user_id").and_then(|v| v.parse::<i64>().ok()) else {
        return back("companies_error", "Say whose companies to set.");
    };
    let mut companies = Vec::new();
    for (_, v) in fields.iter().filter(|(k, _)| k == "company") {
        match v.parse::<i64>() {
            Ok(id) => companies.push(id),
            Err(_) => return back("companies_error", &format!("“{v}” is not a company.")),
        }
    }
    match companies::set_limits(
        &state.db,
        &user,
        target,
        &companies,
        &ip,
        value(idempotency::FIELD),
    )
    .await
    {
        Ok(outcome) => back("companies_saved", &outcome.message),
        Err(orders::ActionError::Invalid(m)) => back("companies_error", &m),
        Err(orders::ActionError::NotFound) => back("companies_error", "No such member of staff."),
        Err(e) => {
            tracing::error!(error = %e, "setting a buyer's companies failed");
            back(
                "companies_error",
                "Saving failed; nothing was changed. Try again in a moment.",
            )
        }
    }
}

/// The demo's mailbox: mail the portal would have sent.
/// The demo's own webhook receiver (its seeded subscriber points here): answers 204 to
/// a POST with a valid-looking Standard Webhooks header set, in the demo only.
async fn demo_receiver(State(state): State<AppState>, headers: http::HeaderMap) -> StatusCode {
    if !state.settings.dev_mailbox_open {
        return StatusCode::NOT_FOUND;
    }
    let signed = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .all(|h| headers.contains_key(*h));
    if signed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::BAD_REQUEST
    }
}

async fn mailbox(
    State(state): State<AppState>,
    user: Option<axum::Extension<auth::CurrentUser>>,
) -> impl IntoResponse {
    if !state.settings.dev_mailbox {
        return (StatusCode::NOT_FOUND, Html(String::from("not found")));
    }
    // Mail holds password and invitation links: outside the demo, admins only.
    let admin = user.is_some_and(|u| u.role == auth::Role::Admin);
    if !state.settings.dev_mailbox_open && !admin {
        return (StatusCode::NOT_FOUND, Html(String::from("not found")));
    }
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT created_at, to_address, subject, body FROM mail_outbox ORDER BY id DESC LIMIT 50",
    )
    .fetch_all(&state.db)
    .await
    .unwrap_or_default();
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
    // Links in a mail become clickable, as in a mail client.
    let linkify = |body: &str| {
        body.lines()
            .map(|l| {
                let l = esc(l);
                if l.starts_with("http://") || l.starts_with("https://") {
                    format!("<a href=\"{l}\">{l}</a>")
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let items: String = rows
        .iter()
        .map(|(at, to, subject, body)| {
            format!(
                "<article><h2>{}</h2><p>To <span class=\"to\">{}</span> at {}</p><pre>{}</pre></article>",
                esc(subject),
                esc(to),
                esc(at),
                linkify(body)
            )
        })
        .collect();
    (StatusCode::OK, Html(format!("<!DOCTYPE html><html><head><meta charset=utf-8><title>Dev mailbox</title></head><body><h1>Dev mailbox</h1>{items}</body></html>")))
}

/// Polls Odoo while this instance holds the poller lease of its Odoo database; the other
/// instances stand by and take over when the lease runs out. A webhook that reaches a
/// standby instance is passed on to the holder through the lease row.
pub async fn run_poller(
    db: Db,
    link: OdooLink,
    settings: Arc<Settings>,
    instance: String,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let ttl = (settings.poll_interval * 3).max(Duration::from_secs(15));
    let tick = settings.poll_interval.min(Duration::from_secs(1));
    let mut polls: u64 = 0;
    let mut last_poll: Option<std::time::Instant> = None;
    let mut woken = true;
    let mut held = false;
    loop {
        let Some(odoo) = link.client() else {
            // Not connected (yet): the connection manager is at it.
            tokio::select! {
                _ = link.connected() => continue,
                _ = shutdown.changed() => break,
            }
        };
        // An instance still on earlier settings (the new ones not read yet, or failing
        // here) leaves polling to one that runs the settings in force.
        if !link.is_current() {
            if std::mem::take(&mut held) {
                let _ = sync::lease::release(&db, POLLER_LEASE, &instance).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => continue,
                _ = shutdown.changed() => break,
            }
        }
        let name = POLLER_LEASE;
        held = true;
        let leader = match sync::lease::hold(&db, name, &instance, ttl).await {
            Ok(leader) => leader,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the poller lease");
                false
            }
        };
        if leader {
            let requested = sync::lease::take_request(&db, name, &instance)
                .await
                .unwrap_or(false);
            let due = last_poll.is_none_or(|t| t.elapsed() >= settings.poll_interval);
            if woken || requested || due {
                polls += 1;
                let work = poll_and_reconcile(&db, &odoo, &settings, polls);
                tokio::pin!(work);
                // A long first sync must not lose the lease to a standby instance; if it is
                // lost all the same (this instance stalled, another took over), the poll stops
                // at once: two pollers would store the same orders twice over. What it
                // stored so far is committed page by page; the rest is rolled back.
                let mut renew = tokio::time::interval(ttl / 3);
                renew.tick().await;
                let finished = loop {
                    tokio::select! {
                        _ = &mut work => break true,
                        _ = renew.tick() => {
                            match sync::lease::hold(&db, name, &instance, ttl).await {
                                Ok(true) => {}
                                Ok(false) => {
                                    tracing::warn!("the poller lease went to another instance; polling stops here");
                                    break false;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "cannot renew the poller lease; polling stops here");
                                    break false;
                                }
                            }
                        }
                    }
                };
                if finished {
                    last_poll = Some(std::time::Instant::now());
                }
            }
        } else if woken {
            let _ = sync::lease::request_run(&db, name).await;
        }
        woken = false;
        tokio::select! {
            _ = wake.notified() => woken = true,
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => break,
        }
    }
    if held {
        let _ = sync::lease::release(&db, POLLER_LEASE, &instance).await;
    }
}

/// The lease of the one poller among the instances.
const POLLER_LEASE: &str = "poller";

async fn poll_and_reconcile(db: &Db, odoo: &OdooClient, settings: &Settings, polls: u64) {
    let options = sync::poller::PollOptions {
        include_rfqs: settings.include_rfqs,
        public_url: Some(settings.public_url.clone()),
    };
    match sync::poller::poll_once(db, odoo, &options).await {
        Ok(r) if r.orders_changed_in_odoo > 0 => tracing::info!(
            orders = r.orders_seen,
            changed = r.orders_changed_in_odoo,
            calls = r.odoo_calls,
            "synced from odoo"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "poll failed; will try again"),
    }
    if polls.is_multiple_of(20) {
        if let Err(e) = sync::poller::reconcile(db, odoo, settings.include_rfqs).await {
            tracing::warn!(error = %e, "reconciliation failed");
        }
    }
}

/// Sends the exceptions digest when it is due, on one instance at a time (the `digest`
/// lease), checking every five minutes, the first time five minutes after start (a
/// starting instance has other work).
async fn run_digests(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            _ = shutdown.changed() => break,
        }
        let holder = sync::lease::hold(
            &state.db,
            "digest",
            &state.instance,
            Duration::from_secs(600),
        )
        .await
        .unwrap_or(false);
        if holder {
            let every = chrono::Duration::hours(state.settings.digest_hours);
            match notify::send_digests(
                &state.db,
                exceptions::Windows::of(&state.settings),
                &state.settings.public_url,
                every,
                None,
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(digests = n, "exceptions digests queued"),
                Err(e) => tracing::warn!(error = %e, "exceptions digest failed; will try again"),
            }
        }
    }
}

/// Serves the app on `listener` and runs the sync until `shutdown` flips to true. Odoo is
/// connected in the background ([`connection::run_manager`]): pages are served while Odoo
/// is down, and supplier actions wait in the outbox.
/// Deletes events older than the feed's retention, hourly.
async fn prune_events(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        let before = state.clock.stored_at(-chrono::Duration::days(
            state.settings.event_retention_days.max(1),
        ));
        if let Err(e) = events::prune(&state.db, &before).await {
            tracing::error!(error = %e, "could not prune old events");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let app = router(state.clone()).await?;
    // Expired sessions go, so the table holds only live ones (and the metric counts them).
    let sessions = db::sessions::Sessions::open(state.settings.database_url.expose()).await?;
    let mut tasks = vec![tokio::spawn(db::sessions::delete_expired_continuously(
        sessions,
        state.settings.session_cleanup_every,
        shutdown.clone(),
    ))];
    tasks.push(tokio::spawn(connection::run_manager(
        state.db.clone(),
        state.settings.clone(),
        state.odoo.clone(),
        state.instance.clone(),
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(run_poller(
        state.db.clone(),
        state.odoo.clone(),
        state.settings.clone(),
        state.instance.clone(),
        state.poll_wake.clone(),
        shutdown.clone(),
    )));
    // Durable jobs, and the feed's retention. Two workers on the one `jobs` table, each
    // claiming only its kinds: the Odoo outbox (supplier actions, real time: a slow webhook
    // subscriber or a large planning push in the same claim must not hold it up), and the
    // rest (webhook deliveries, planning pushes, mail). A run is cut off at half the lease;
    // an outbox delivery at two fifths, so that its outcome is recorded in time.
    let mut outbox = jobs::Worker::new(
        state.db.clone(),
        state.instance.clone(),
        state.clock.clone(),
        state.outbox_wake.clone(),
    )
    .with(Arc::new(sync::outbox::Deliverer {
        db: state.db.clone(),
        odoo: state.odoo.clone(),
        retry: sync::outbox::RetryPolicy {
            max_attempts: state.settings.outbox_max_attempts,
            cap: state.settings.outbox_retry_cap,
            ..Default::default()
        },
        upload_dir: state.settings.upload_dir.clone(),
        budget: state.settings.outbox_lease * 2 / 5,
    }));
    outbox.lease = state.settings.outbox_lease;
    outbox.health = Some(state.health.clone());
    tasks.push(tokio::spawn(jobs::run(outbox, shutdown.clone())));
    let mut jobs = jobs::Worker::new(
        state.db.clone(),
        state.instance.clone(),
        state.clock.clone(),
        state.jobs_wake.clone(),
    )
    .with(webhooks::Deliverer::new(state.db.clone(), &state.settings))
    .with(planning::push::Pusher::new(
        state.db.clone(),
        state.odoo.clone(),
    ));
    // Mail goes out only where SMTP is configured; elsewhere it stays queued.
    if let Some(mailer) = state
        .settings
        .smtp
        .as_ref()
        .and_then(|smtp| notify::Mailer::new(state.db.clone(), smtp))
    {
        jobs = jobs.with(mailer);
    }
    jobs.retry = jobs::RetryPolicy {
        max_attempts: state.settings.webhook_max_attempts,
        cap: state.settings.outbox_retry_cap,
        ..Default::default()
    };
    jobs.lease = Duration::from_secs(60).max(webhooks::TIMEOUT * 3);
    tasks.push(tokio::spawn(jobs::run(jobs, shutdown.clone())));
    tasks.push(tokio::spawn(prune_events(state.clone(), shutdown.clone())));
    tasks.push(tokio::spawn(planning::pull::run(
        state.clone(),
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(
        planning::supply_export::refresh_on_hand_every(
            state.db.clone(),
            state.odoo.clone(),
            state.settings.planning_on_hand_every,
            shutdown.clone(),
        ),
    ));
    if let Some(dir) = state.settings.planning_supply_export_dir.clone() {
        tasks.push(tokio::spawn(planning::supply_export::write_every(
            state.db.clone(),
            dir,
            Duration::from_secs(3600 * state.settings.planning_supply_export_hours),
            shutdown.clone(),
        )));
    }
    if state.settings.digest_hours > 0 {
        tasks.push(tokio::spawn(run_digests(state.clone(), shutdown.clone())));
    }
    let mut stop = shutdown.clone();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await?;
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    Ok(())
}

//! Health and metrics: `/readyz` says whether this instance can do its work, `/metrics`
//! exposes Prometheus metrics. Metric names live here, and labels stay bounded (route
//! patterns and outcomes, never a PO number).

use super::db::Backend;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use super::AppState;

pub const HTTP_REQUEST_SECONDS: &str = "millrace_http_request_duration_seconds";
pub const ODOO_CALL_SECONDS: &str = "millrace_odoo_call_duration_seconds";
pub const OUTBOX_DELIVERIES: &str = "millrace_outbox_deliveries_total";
pub const OUTBOX_DEPTH: &str = "millrace_outbox_depth";
pub const OUTBOX_OLDEST_AGE: &str = "millrace_outbox_oldest_pending_age_seconds";
pub const OUTBOX_DEAD_LETTERS: &str = "millrace_outbox_dead_letters";
pub const LOGIN_FAILURES: &str = "millrace_login_failures_total";
pub const ACTIVE_SESSIONS: &str = "millrace_active_sessions";
pub const JOBS_RUN: &str = "millrace_jobs_run_total";
pub const EVENTS_WRITTEN: &str = "millrace_events_written_total";
pub const WEBHOOK_DELIVERY_SECONDS: &str = "millrace_webhook_delivery_seconds";
pub const PLANNING_IMPORT_SECONDS: &str = "millrace_planning_import_duration_seconds";
pub const PLANNING_IMPORT_ROWS: &str = "millrace_planning_import_rows_total";
pub const PLANNING_REJECTED_ROWS: &str = "millrace_planning_rejected_problems";
pub const PLANNING_DATA_AGE: &str = "millrace_planning_data_age_seconds";
pub const JOBS_PENDING: &str = "millrace_jobs_pending";
pub const JOBS_OLDEST_AGE: &str = "millrace_jobs_oldest_pending_age_seconds";
pub const JOBS_DEAD: &str = "millrace_jobs_dead";

/// The process-wide recorder (installed once, also when tests start several apps).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("static buckets are valid")
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

/// What `/readyz` reports besides the database: heartbeats of the background work.
#[derive(Debug, Default)]
pub struct Health {
    /// Unix seconds of the outbox worker's last loop (0: not running).
    pub worker_heartbeat: AtomicI64,
    /// Unix seconds of the last Odoo call that answered (0: none yet).
    pub odoo_last_ok: AtomicI64,
    /// Unix seconds since when Odoo has failed to answer (0: it answers).
    pub odoo_failing_since: AtomicI64,
}

pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Health {
    pub fn odoo_answered(&self) {
        self.odoo_last_ok.store(unix_now(), Ordering::Relaxed);
        self.odoo_failing_since.store(0, Ordering::Relaxed);
    }
    pub fn odoo_failed(&self) {
        let _ = self.odoo_failing_since.compare_exchange(
            0,
            unix_now(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
}

/// Records every request's latency by route pattern, method and status class.
pub async fn track_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    metrics::histogram!(HTTP_REQUEST_SECONDS, "route" => route, "method" => method, "status" => status).record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus text; gauges read from the database at scrape time.
/// Sessions not yet expired. The SQLite store keeps `expiry_date` as text (compared to a
/// number, text is always greater: every session counted); PostgreSQL as a timestamp.
pub async fn active_sessions(db: &super::db::Db) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(match super::db::backend(db) {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM tower_sessions WHERE datetime(expiry_date) > datetime('now')"
        }
        Backend::Postgres => "SELECT COUNT(*) FROM tower_sessions WHERE expiry_date > now()",
    })
    .fetch_one(db)
    .await?;
    Ok(n)
}

pub async fn metrics_endpoint(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = &state.settings.metrics_token {
        use subtle::ConstantTimeEq;
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return (StatusCode::UNAUTHORIZED, "metrics need the bearer token").into_response();
        }
    }
    let now = super::db::now();
    let depth: (i64, Option<String>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM outbox_messages WHERE status = 'pending'",
    )
    .fetch_one(&state.db)
    .await
    .unwrap_or((0, None));
    let dead: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox_messages WHERE status IN ('dead', 'conflict')")
            .fetch_one(&state.db)
            .await
            .unwrap_or((0,));
    let sessions = (active_sessions(&state.db).await.unwrap_or(0),);
    let oldest_age = depth
        .1
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S").ok())
        .zip(chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%d %H:%M:%S").ok())
        .map(|(t, n)| (n - t).num_seconds().max(0))
        .unwrap_or(0);
    metrics::gauge!(OUTBOX_DEPTH).set(depth.0 as f64);
    metrics::gauge!(OUTBOX_OLDEST_AGE).set(oldest_age as f64);
    metrics::gauge!(OUTBOX_DEAD_LETTERS).set(dead.0 as f64);
    metrics::gauge!(ACTIVE_SESSIONS).set(sessions.0 as f64);
    let now_t = chrono::NaiveDateTime::parse_from_str(&now, "%Y-%m-%d %H:%M:%S").ok();
    if let Some(now_t) = now_t {
        for (kind, problems, age) in super::planning::monitor::gauges(&state.db, now_t)
            .await
            .unwrap_or_default()
        {
            metrics::gauge!(PLANNING_REJECTED_ROWS, "kind" => kind.clone()).set(problems as f64);
            metrics::gauge!(PLANNING_DATA_AGE, "kind" => kind).set(age as f64);
        }
    }
    // The job queue per kind (webhook deliveries, planning pushes, mail): backlog, its age, dead.
    let jobs: Vec<(String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT kind, SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), MIN(CASE WHEN state = 'pending' THEN created_at END),
                SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END)
         FROM jobs GROUP BY kind",
    )
    .fetch_all(&state.db)
    .await
    .unwrap_or_default();
    for (kind, pending, oldest, dead) in jobs {
        let age = oldest
            .and_then(|t| {
                chrono::NaiveDateTime::parse_from_str(t.get(..19)?, "%Y-%m-%d %H:%M:%S").ok()
            })
            .zip(now_t)
            .map(|(t, n)| (n - t).num_seconds().max(0))
            .unwrap_or(0);
        metrics::gauge!(JOBS_PENDING, "kind" => kind.clone()).set(pending as f64);
        metrics::gauge!(JOBS_OLDEST_AGE, "kind" => kind.clone()).set(age as f64);
        metrics::gauge!(JOBS_DEAD, "kind" => kind).set(dead as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /readyz`: 200 when the database answers, migrations are current and the outbox
/// worker is alive; Odoo's reachability is reported (a down Odoo does not make the portal
/// unready: supplier actions are kept and sent later).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let db_ok = sqlx::query("SELECT 1").execute(&state.db).await.is_ok();
    let applied: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&state.db)
        .await
        .unwrap_or((0,));
    let expected = super::db::backend(&state.db).migrator().iter().count() as i64;
    let migrations_ok = applied.0 == expected;
    let now = unix_now();
    let heartbeat = state.health.worker_heartbeat.load(Ordering::Relaxed);
    let link = state.odoo.state();
    let worker_ok = heartbeat > 0 && now - heartbeat < 30;
    let failing_since = state.health.odoo_failing_since.load(Ordering::Relaxed);
    let last_ok = state.health.odoo_last_ok.load(Ordering::Relaxed);
    let ready = db_ok && migrations_ok && worker_ok;
    let body = json!({
        "ready": ready,
        "instance": state.instance,
        "database": if db_ok { "ok" } else { "unreachable" },
        "migrations": { "applied": applied.0, "expected": expected },
        "outbox_worker": if worker_ok { "alive" } else { "stalled" },
        "odoo_connection": if !link.configured { json!({"configured": false}) }
            else { json!({"configured": true, "revision": state.odoo.revision(), "current": state.odoo.is_current(), "problem": link.problem.is_some()}) },
        "odoo": if failing_since > 0 { json!({"reachable": false, "unreachable_for_seconds": now - failing_since}) }
                else if last_ok > 0 { json!({"reachable": true, "last_answer_seconds_ago": now - last_ok}) }
                else { json!({"reachable": null}) },
    });
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        axum::Json(body),
    )
        .into_response()
}

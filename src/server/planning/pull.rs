//! Scheduled pulls (issue 14, the intake's third way in): an admin names a URL the planning
//! system publishes its snapshot at, with credentials (basic or bearer, sealed at rest like
//! webhook secrets), how often (every N hours) and in which UTC hours. A due pull streams the
//! file to disk and hands it to the same pipeline as the upload and the API
//! (`intake::receive`), so the same content never makes a second version; it acts as the
//! pull's own technical user, which the versions name.
//!
//! Several instances: a due pull is claimed by moving its `next_due_at` forward in one
//! conditional UPDATE, so one instance runs it. A failed pull is tried again after
//! [`RETRY_AFTER`] and shows among the buyers' planning exceptions until one succeeds.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Timelike;

use super::forms::{fields, ip_of, planner, refused, to, value, Ip, User};
use super::intake::{self, Format, Limits, Sent, Stager};
use super::PlanningError;
use crate::domain::outcome::Outcome;
use crate::domain::planning::SnapshotKind;
use crate::model::pulls::{PullForm, PullView, PullsPage};
use crate::server::auth::session::Role;
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::Flag;
use crate::server::db::{self, Db};
use crate::server::secrets::{Sealed, SealingKeys};
use crate::server::AppState;

/// A failed pull is tried again this much later (or at its next turn, if sooner).
pub const RETRY_AFTER: chrono::Duration = chrono::Duration::minutes(15);

/// How long one pull may take, download included.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// How often due pulls are looked for.
const TICK: Duration = Duration::from_secs(30);

const PAGE: &str = "/planning/sources";

fn sealing_context(id: i64) -> String {
    format!("planning_pulls.{id}.secret")
}

/// Only admins set up, change and remove pulls; planners see them and pull now.
fn may_manage(user: &CurrentUser) -> Result<(), PlanningError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(PlanningError::Invalid(
            "Only an admin sets up, changes or removes scheduled pulls.".into(),
        ))
    }
}

const COLUMNS: &str = "id, source, kind, url, auth, username, every_hours, window_start, window_end, paused, next_due_at,
    last_attempt_at, last_success_at, last_status, last_message, last_import_id";

/// A scheduled pull as stored, read with [`COLUMNS`] (its secret left out).
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    source: String,
    kind: String,
    url: String,
    auth: String,
    username: Option<String>,
    every_hours: i64,
    window_start: i64,
    window_end: i64,
    #[sqlx(try_from = "Flag")]
    paused: bool,
    next_due_at: String,
    last_attempt_at: Option<String>,
    last_success_at: Option<String>,
    last_status: Option<String>,
    last_message: Option<String>,
    last_import_id: Option<i64>,
}

fn view(r: Row) -> PullView {
    PullView {
        id: r.id,
        source: r.source,
        kind: r.kind,
        url: r.url,
        auth: r.auth,
        username: r.username,
        every_hours: r.every_hours,
        window_start: r.window_start,
        window_end: r.window_end,
        paused: r.paused,
        next_due_at: r.next_due_at,
        last_attempt_at: r.last_attempt_at,
        last_success_at: r.last_success_at,
        last_status: r.last_status,
        last_message: r.last_message,
        last_import_id: r.last_import_id,
    }
}

/// Every pull, by source.
pub async fn list(db: &Db, user: &CurrentUser) -> Result<PullsPage, PlanningError> {
    super::may_plan(user)?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM planning_pulls ORDER BY source"
    ))
    .fetch_all(db)
    .await?;
    Ok(PullsPage {
        pulls: rows.into_iter().map(view).collect(),
        may_manage: may_manage(user).is_ok(),
    })
}

/// A form checked: what to store.
struct Checked {
    source: String,
    kind: SnapshotKind,
    url: String,
    auth: &'static str,
    username: Option<String>,
    secret: Option<String>,
    every_hours: i64,
    window: (i64, i64),
}

fn check(f: &PullForm) -> Result<Checked, PlanningError> {
    let bad = |m: &str| Err(PlanningError::Invalid(m.into()));
    let source = f.source.trim();
    if source.is_empty() || source.chars().count() > 80 || source.chars().any(char::is_control) {
        return bad("Name the source (1 to 80 characters): its files are registered under it and its profile applies.");
    }
    let Some(kind) = SnapshotKind::from_code(f.kind.trim()) else {
        return bad("Choose what the file holds: forecast or supply recommendations.");
    };
    let url = f.url.trim();
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            if !u.username().is_empty() || u.password().is_some() {
                return bad("Put the credentials in their own fields, not in the address.");
            }
        }
        _ => return bad("The address is an http or https URL, e.g. https://plan.example.com/export/forecast.csv."),
    }
    let auth = match f.auth.trim() {
        "" | "none" => "none",
        "basic" => "basic",
        "bearer" => "bearer",
        _ => return bad("Authentication is none, basic (user and password) or bearer (a token)."),
    };
    let username = Some(f.username.trim().to_string()).filter(|u| !u.is_empty());
    if auth == "basic" && username.is_none() {
        return bad("Basic authentication needs a user name.");
    }
    let secret = Some(f.secret.trim().to_string()).filter(|s| !s.is_empty());
    let number = |s: &str, what: &str, range: std::ops::RangeInclusive<i64>| {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                PlanningError::Invalid(format!(
                    "{what} is a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ))
            })
    };
    let every_hours = number(&f.every_hours, "Every how many hours", 1..=720)?;
    let start = if f.window_start.trim().is_empty() {
        0
    } else {
        number(&f.window_start, "The window's first hour (UTC)", 0..=23)?
    };
    let end = if f.window_end.trim().is_empty() {
        24
    } else {
        number(&f.window_end, "The window's end hour (UTC)", 1..=24)?
    };
    if start == end {
        return bad("The window's start and end are the same hour: leave both empty for any time.");
    }
    Ok(Checked {
        source: source.to_string(),
        kind,
        url: url.to_string(),
        auth,
        username: username.filter(|_| auth == "basic"),
        secret,
        every_hours,
        window: (start, end),
    })
}

/// Creates or changes the pull of `form.source` (admins). A new pull is due at once.
pub async fn save(
    db: &Db,
    keys: Option<&SealingKeys>,
    user: &CurrentUser,
    form: &PullForm,
    ip: &str,
) -> Result<Outcome, PlanningError> {
    super::may_plan(user)?;
    may_manage(user)?;
    let c = check(form)?;
    if c.auth != "none" && keys.is_none() {
        return Err(PlanningError::Invalid(
            "Credentials are stored sealed, and this server has no MILLRACE_SECRET_KEY: ask the operator to set one.".into(),
        ));
    }
    let mut tx = db::write(db).await?;
    let existing: Option<(i64, Option<String>, String, String)> =
        sqlx::query_as("SELECT id, secret_sealed, url, auth FROM planning_pulls WHERE source = $1")
            .bind(&c.source)
            .fetch_optional(&mut *tx)
            .await?;
    // A stored secret is only ever sent where and how it was saved for: a new address or
    // way of authenticating needs it given again.
    let kept = existing
        .as_ref()
        .is_some_and(|e| e.1.is_some() && e.2 == c.url && e.3 == c.auth);
    if c.auth != "none" && c.secret.is_none() && !kept {
        return Err(PlanningError::Invalid(
            "Give the password or token the planning system expects (again, when the address or the authentication changes).".into(),
        ));
    }
    let now = db::now();
    let (id, outcome) = match existing {
        Some((id, ..)) => {
            sqlx::query(
                "UPDATE planning_pulls SET kind = $1, url = $2, auth = $3, username = $4, every_hours = $5, window_start = $6, window_end = $7 WHERE id = $8",
            )
            .bind(c.kind.code())
            .bind(&c.url)
            .bind(c.auth)
            .bind(&c.username)
            .bind(c.every_hours)
            .bind(c.window.0)
            .bind(c.window.1)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (
                id,
                Outcome::done(format!("The pull of {} is saved.", c.source)),
            )
        }
        None => {
            let (user_id,): (i64,) = sqlx::query_as(
                "INSERT INTO users (email, display_name, password_hash, role, created_at, kind)
                 VALUES ($1, $2, '', 'planner', $3, 'integration') RETURNING id",
            )
            .bind(format!(
                "pull-{}@integrations.invalid",
                uuid::Uuid::new_v4().simple()
            ))
            .bind(format!("{} (scheduled pull)", c.source))
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO planning_pulls (source, kind, url, auth, username, every_hours, window_start, window_end, user_id, next_due_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10) RETURNING id",
            )
            .bind(&c.source)
            .bind(c.kind.code())
            .bind(&c.url)
            .bind(c.auth)
            .bind(&c.username)
            .bind(c.every_hours)
            .bind(c.window.0)
            .bind(c.window.1)
            .bind(user_id)
            .bind(&now)
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
            (
                id,
                Outcome::done(format!(
                    "The pull of {} is set up: it runs every {} h.",
                    c.source, c.every_hours
                )),
            )
        }
    };
    if c.auth == "none" {
        sqlx::query("UPDATE planning_pulls SET secret_key_id = NULL, secret_nonce = NULL, secret_sealed = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    } else if let (Some(secret), Some(keys)) = (&c.secret, keys) {
        let sealed = keys.seal(secret, &sealing_context(id));
        sqlx::query("UPDATE planning_pulls SET secret_key_id = $1, secret_nonce = $2, secret_sealed = $3 WHERE id = $4")
            .bind(&sealed.key_id)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    audit(
        &mut *tx,
        Some(user.id),
        "planning_pull_saved",
        &format!("planning_pull:{id}"),
        &format!(
            "{} {} every {} h, UTC {}-{}, auth {}",
            c.kind.code(),
            c.url,
            c.every_hours,
            c.window.0,
            c.window.1,
            c.auth
        ),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// `pause`, `resume`, `delete` (admins) or `now` (planners too: due at once).
pub async fn change(
    db: &Db,
    user: &CurrentUser,
    id: i64,
    what: &str,
    ip: &str,
) -> Result<Outcome, PlanningError> {
    super::may_plan(user)?;
    if what != "now" {
        may_manage(user)?;
    }
    let mut tx = db::write(db).await?;
    let row: Option<(String, Flag)> =
        sqlx::query_as("SELECT source, paused FROM planning_pulls WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((source, paused)) = row else {
        return Err(PlanningError::NotFound);
    };
    let (sql, outcome) = match (what, paused.0) {
        ("pause", true) => (None, Outcome::already(format!("The pull of {source} was paused already."))),
        ("pause", false) => (Some("UPDATE planning_pulls SET paused = TRUE WHERE id = $1"), Outcome::done(format!("The pull of {source} is paused."))),
        ("resume", false) => (None, Outcome::already(format!("The pull of {source} runs already."))),
        ("resume", true) => (Some("UPDATE planning_pulls SET paused = FALSE WHERE id = $1"), Outcome::done(format!("The pull of {source} runs again."))),
        ("delete", _) => (Some("DELETE FROM planning_pulls WHERE id = $1"), Outcome::done(format!("The pull of {source} is removed; its versions stay."))),
        ("now", true) => return Err(PlanningError::Invalid(format!("The pull of {source} is paused: resume it first."))),
        ("now", false) => (Some("UPDATE planning_pulls SET next_due_at = $2 WHERE id = $1"), Outcome::done(format!("The pull of {source} runs within a minute (outside its window, at the window's start)."))),
        _ => return Err(PlanningError::Invalid("Unknown action: pause, resume, delete or now.".into())),
    };
    if let Some(sql) = sql {
        let q = sqlx::query(sql).bind(id);
        // Only "now" has a second parameter: due from now.
        let q = if what == "now" { q.bind(db::now()) } else { q };
        q.execute(&mut *tx).await?;
        audit(
            &mut *tx,
            Some(user.id),
            &format!("planning_pull_{what}"),
            &format!("planning_pull:{id}"),
            &source,
            ip,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Whether `hour` (UTC) lies in the window [start, end), which may wrap past midnight.
pub fn in_window(hour: i64, start: i64, end: i64) -> bool {
    if start < end {
        (start..end).contains(&hour)
    } else {
        hour >= start || hour < end
    }
}

/// Runs the pulls that are due and in their window; how many ran.
pub async fn run_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.stored_at(chrono::Duration::zero());
    let hour = i64::from(state.clock.now().hour());
    let due: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, next_due_at, every_hours, window_start, window_end FROM planning_pulls WHERE paused = FALSE AND next_due_at <= $1 ORDER BY next_due_at",
    )
    .bind(&now)
    .fetch_all(&state.db)
    .await?;
    let mut ran = 0;
    for (id, was_due, every, start, end) in due {
        if !in_window(hour, start, end) {
            continue;
        }
        // Claim it: whoever moves `next_due_at` on runs it. Only as far as a retry, so a
        // pull whose process dies is tried again soon; done, it moves to its next turn.
        let next = state
            .clock
            .stored_at(RETRY_AFTER.min(chrono::Duration::hours(every)));
        let claimed = sqlx::query(
            "UPDATE planning_pulls SET next_due_at = $1, last_attempt_at = $2, last_status = 'running' WHERE id = $3 AND next_due_at = $4 AND paused = FALSE",
        )
        .bind(&next)
        .bind(&now)
        .bind(id)
        .bind(&was_due)
        .execute(&state.db)
        .await?
        .rows_affected();
        if claimed != 1 {
            continue;
        }
        ran += 1;
        let (status, message, import_id) =
            match tokio::time::timeout(TIMEOUT, pull(state, id)).await {
                Ok(Ok(r)) => (
                    if r.already {
                        "unchanged".to_string()
                    } else {
                        r.status.clone()
                    },
                    r.message,
                    Some(r.import_id),
                ),
                Ok(Err(message)) => ("failed".to_string(), message, None),
                Err(_) => (
                    "failed".to_string(),
                    format!("The download took longer than {} s.", TIMEOUT.as_secs()),
                    None,
                ),
            };
        let failed = status == "failed";
        if failed {
            tracing::warn!(pull = id, %message, "planning pull failed");
        } else {
            tracing::info!(pull = id, %status, "planning pull done");
        }
        let retry = state
            .clock
            .stored_at(RETRY_AFTER.min(chrono::Duration::hours(every)));
        sqlx::query(
            "UPDATE planning_pulls SET last_status = $1, last_message = $2, last_import_id = COALESCE($3, last_import_id),
                 last_success_at = CASE WHEN $1 = 'failed' THEN last_success_at ELSE $4 END,
                 next_due_at = CASE WHEN $1 = 'failed' THEN $5 ELSE $7 END
             WHERE id = $6",
        )
        .bind(&status)
        .bind(message.chars().take(500).collect::<String>())
        .bind(import_id)
        .bind(&now)
        .bind(&retry)
        .bind(id)
        .bind(state.clock.stored_at(chrono::Duration::hours(every)))
        .execute(&state.db)
        .await?;
    }
    Ok(ran)
}

/// What a pull fetches, how it signs in (the sealed secret), and for whom it registers.
#[derive(sqlx::FromRow)]
struct PullTarget {
    source: String,
    kind: String,
    url: String,
    auth: String,
    username: Option<String>,
    secret_key_id: Option<String>,
    secret_nonce: Option<String>,
    secret_sealed: Option<String>,
    user_id: i64,
}

/// Downloads one pull's file and hands it to the intake; a failure as a sentence.
async fn pull(state: &AppState, id: i64) -> Result<intake::Received, String> {
    let row: Option<PullTarget> = sqlx::query_as(
        "SELECT source, kind, url, auth, username, secret_key_id, secret_nonce, secret_sealed, user_id FROM planning_pulls WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await
    .map_err(|e| format!("database: {e}"))?;
    let Some(PullTarget {
        source,
        kind,
        url,
        auth,
        username,
        secret_key_id: key_id,
        secret_nonce: nonce,
        secret_sealed: sealed,
        user_id,
    }) = row
    else {
        return Err("The pull was removed.".into());
    };
    let secret = match (key_id, nonce, sealed, state.settings.sealing.as_ref()) {
        (Some(key_id), Some(nonce), Some(ciphertext), Some(keys)) => Some(
            keys.open(
                &Sealed {
                    key_id,
                    nonce,
                    ciphertext,
                },
                &sealing_context(id),
            )
            .map_err(|_| {
                "The stored credentials cannot be opened with this server's MILLRACE_SECRET_KEY: save them again.".to_string()
            })?,
        ),
        _ if auth != "none" => {
            return Err("The credentials are missing: save them again.".into());
        }
        _ => None,
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let mut req = client.get(&url);
    match (auth.as_str(), &secret) {
        ("basic", Some(s)) => req = req.basic_auth(username.unwrap_or_default(), Some(s.expose())),
        ("bearer", Some(s)) => req = req.bearer_auth(s.expose()),
        _ => {}
    }
    let resp = req.send().await.map_err(|e| {
        let why = std::error::Error::source(&e).map_or(e.to_string(), |s| s.to_string());
        format!("{url} did not answer: {why}")
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!(
            "{url} answered {status}{}",
            match status.as_u16() {
                401 | 403 => ": check the user and password or token.",
                301 | 302 | 303 | 307 | 308 =>
                    ": redirects are not followed; give the final address.",
                404 => ": check the address.",
                _ => ".",
            }
        ));
    }
    let json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let file_name = resp
        .url()
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("pulled")
        .to_string();
    let mut stager = Stager::new(&state.settings.upload_dir)
        .await
        .map_err(|e| format!("staging the file: {e}"))?;
    let mut resp = resp;
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                stager.discard().await;
                return Err(format!("the download broke off: {e}"));
            }
        };
        if stager.size + chunk.len() > super::forms::MAX_UPLOAD_BYTES {
            stager.discard().await;
            return Err(format!(
                "The file is larger than {} MB.",
                super::forms::MAX_UPLOAD_BYTES / 1024 / 1024
            ));
        }
        if let Err(e) = stager.write(&chunk).await {
            stager.discard().await;
            return Err(format!("staging the file: {e}"));
        }
    }
    let staged = stager
        .finish()
        .await
        .map_err(|e| format!("staging the file: {e}"))?;
    let format = if json {
        Format::Json
    } else {
        Format::guess(&file_name, &staged.first_bytes)
    };
    let actor = technical_user(&state.db, user_id)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let sent = Sent {
        kind: SnapshotKind::from_code(&kind).unwrap_or(SnapshotKind::Forecast),
        source,
        snapshot_id: None,
        format,
        file_name,
    };
    intake::receive(
        &state.db,
        &Limits::of(&state.settings),
        &actor,
        &sent,
        &staged,
        "scheduled pull",
    )
    .await
    .map_err(|e| e.to_string())
}

async fn technical_user(db: &Db, id: i64) -> Result<CurrentUser, sqlx::Error> {
    let (email, display_name): (String, String) =
        sqlx::query_as("SELECT email, display_name FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await?;
    Ok(CurrentUser {
        id,
        email,
        display_name,
        role: Role::Planner,
        supplier_id: None,
        supplier_name: None,
        time_zone: "UTC".into(),
        companies: crate::server::companies::scope_of(db, id, Role::Planner).await?,
    })
}

/// The scheduler: looks for due pulls every [`TICK`] until shutdown.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = run_due(&state).await {
            tracing::error!(error = %e, "scheduled planning pulls failed; will look again");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = state.pulls_wake.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// `POST /planning/pulls`: saves a pull (admins); the outcome shows on `/planning/sources`.
pub async fn save_form(
    State(state): State<AppState>,
    user: User,
    ip: Ip,
    body: axum::body::Bytes,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let f = fields(&body);
    let form = PullForm {
        source: value(&f, "source").into(),
        kind: value(&f, "kind").into(),
        url: value(&f, "url").into(),
        auth: value(&f, "auth").into(),
        username: value(&f, "username").into(),
        secret: value(&f, "secret").into(),
        every_hours: value(&f, "every_hours").into(),
        window_start: value(&f, "window_start").into(),
        window_end: value(&f, "window_end").into(),
    };
    match save(
        &state.db,
        state.settings.sealing.as_ref(),
        &user,
        &form,
        &ip_of(ip),
    )
    .await
    {
        Ok(o) => {
            state.pulls_wake.notify_one();
            to(PAGE, "saved", &o.message)
        }
        Err(e) => refused(PAGE, e, "No such pull."),
    }
}

/// `POST /planning/pulls/{id}/{what}`: `pause`, `resume`, `delete`, `now`.
pub async fn change_form(
    State(state): State<AppState>,
    Path((id, what)): Path<(i64, String)>,
    user: User,
    ip: Ip,
) -> Response {
    let user = match planner(user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    match change(&state.db, &user, id, &what, &ip_of(ip)).await {
        Ok(o) => {
            state.pulls_wake.notify_one();
            to(PAGE, "saved", &o.message)
        }
        Err(e) => refused(PAGE, e, "No such pull."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_may_wrap_past_midnight() {
        assert!(in_window(0, 0, 24) && in_window(23, 0, 24));
        assert!(in_window(2, 1, 5) && !in_window(5, 1, 5) && !in_window(0, 1, 5));
        assert!(in_window(23, 22, 4) && in_window(3, 22, 4) && !in_window(12, 22, 4));
    }

    #[test]
    fn a_form_is_checked_with_sentences_a_person_can_act_on() {
        let good = PullForm {
            source: "frepple".into(),
            kind: "forecast".into(),
            url: "https://plan.example.com/forecast.csv".into(),
            auth: "basic".into(),
            username: "millrace".into(),
            secret: "s3cret".into(),
            every_hours: "24".into(),
            window_start: "".into(),
            window_end: "".into(),
        };
        assert!(check(&good).is_ok());
        let refused = |f: PullForm, says: &str| match check(&f) {
            Err(PlanningError::Invalid(m)) => assert!(m.contains(says), "{m}"),
            other => panic!("{:?}", other.is_ok()),
        };
        refused(
            PullForm {
                url: "ftp://x/y".into(),
                ..good.clone()
            },
            "http or https",
        );
        refused(
            PullForm {
                url: "https://u:p@x/y".into(),
                ..good.clone()
            },
            "own fields",
        );
        refused(
            PullForm {
                username: "".into(),
                ..good.clone()
            },
            "user name",
        );
        refused(
            PullForm {
                every_hours: "0".into(),
                ..good.clone()
            },
            "1 to 720",
        );
        refused(
            PullForm {
                window_start: "6".into(),
                window_end: "6".into(),
                ..good.clone()
            },
            "same hour",
        );
        refused(
            PullForm {
                kind: "orders".into(),
                ..good.clone()
            },
            "forecast or supply",
        );
    }
}

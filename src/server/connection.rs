//! Which Odoo the portal talks to, and keeping every instance connected to it.
//!
//! The settings an admin saved on `/admin/odoo` (one row, the API key sealed under the
//! server key) win over the `MILLRACE_ODOO_*` variables. A save is checked against Odoo
//! first (the checks of `millrace odoo check`), so what is stored is known to work; it
//! raises the row's revision, and each instance's [`run_manager`] connects with the new
//! settings and swaps its [`OdooLink`] while deliveries and polls go on. Rotating the API
//! key: make a second key for the user in Odoo, save it here, then revoke the old one in
//! Odoo once every instance runs on the new revision (the page shows it).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::auth::users::audit;
use super::auth::CurrentUser;
use super::db::{self, Db};
use super::idempotency::{IdempotencyError, Submission};
use super::odoo::check::{self, CheckReport, Given};
use super::odoo::link::LinkState;
use super::odoo::{OdooClient, OdooLink, OdooSettings, TransportChoice};
use super::secrets::{Sealed, SealingKeys};
use super::settings::{Secret, Settings};

/// What the sealed API key is, so it does not open anywhere else.
const API_KEY_CONTEXT: &str = "odoo_connection.api_key";

/// The saved row, without the key in clear.
#[derive(Clone, Debug)]
pub struct Stored {
    pub url: String,
    pub database: String,
    pub login: String,
    pub sealed: Sealed,
    pub revision: i64,
    pub updated_by: Option<String>,
    pub updated_at: String,
}

type StoredRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
);

pub async fn stored(db: &Db) -> Result<Option<Stored>, sqlx::Error> {
    let row: Option<StoredRow> = sqlx::query_as(
        "SELECT c.url, c.database_name, c.login, c.key_id, c.api_key_nonce, c.api_key_sealed,
                c.revision, u.email, c.updated_at
         FROM odoo_connection c LEFT JOIN users u ON u.id = c.updated_by WHERE c.id = 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(url, database, login, key_id, nonce, ciphertext, revision, updated_by, updated_at)| {
            Stored {
                url,
                database,
                login,
                sealed: Sealed {
                    key_id,
                    nonce,
                    ciphertext,
                },
                revision,
                updated_by,
                updated_at,
            }
        },
    ))
}

/// Transport, timeout and call bound are not on the admin page: the environment's, or
/// the defaults.
fn with_base(
    settings: &Settings,
    url: String,
    database: String,
    login: String,
    key: Secret,
) -> OdooSettings {
    let (transport, timeout, max_concurrent_calls) = match &settings.odoo {
        Some(o) => (o.transport, o.timeout, o.max_concurrent_calls),
        None => (TransportChoice::Auto, Duration::from_secs(20), 4),
    };
    OdooSettings {
        url,
        database,
        login,
        api_key: key,
        transport,
        timeout,
        max_concurrent_calls,
    }
}

/// The settings to connect with and their revision (0: the environment's), or none.
pub async fn wanted(db: &Db, settings: &Settings) -> Result<Option<(OdooSettings, i64)>, String> {
    let row = stored(db)
        .await
        .map_err(|e| format!("cannot read the saved Odoo settings: {e}"))?;
    let Some(row) = row else {
        return Ok(settings.odoo.clone().map(|o| (o, 0)));
    };
    let keys = settings.sealing.as_ref().ok_or(
        "Odoo settings were saved on the admin page, but this instance has no MILLRACE_SECRET_KEY to open the API key",
    )?;
    let key = keys
        .open(&row.sealed, API_KEY_CONTEXT)
        .map_err(|e| e.to_string())?;
    Ok(Some((
        with_base(settings, row.url, row.database, row.login, key),
        row.revision,
    )))
}

/// Keeps `link` connected to the wanted settings: connects at start (with backoff while
/// Odoo is down; pages work meanwhile and supplier actions wait in the outbox), and
/// reconnects when an admin saves new settings on any instance (checked every few
/// seconds, at once on this one). A failed reconnect keeps the working client.
pub async fn run_manager(
    db: Db,
    settings: Arc<Settings>,
    link: OdooLink,
    instance: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut last_report: Option<(Running, std::time::Instant)> = None;
    loop {
        let mut wait = Duration::from_secs(5);
        match wanted(&db, &settings).await {
            Ok(None) => link.set_state(LinkState::default()),
            Ok(Some((want, revision))) if link.revision() != Some(revision) => {
                match OdooClient::connect(want.clone()).await {
                    Ok(client) => {
                        tracing::info!(url = %want.url, revision, version = client.version, transport = client.transport.name(), "connected to odoo");
                        link.install(client, revision);
                        backoff = Duration::from_secs(1);
                    }
                    Err(e) => {
                        let given = if revision == 0 {
                            Given::Environment
                        } else {
                            Given::AdminPage
                        };
                        let problem = check::explain(&e, &want, given);
                        tracing::warn!(%problem, revision, "cannot connect to odoo yet; supplier actions are kept and sent later");
                        link.set_state(LinkState {
                            configured: true,
                            wanted: Some(revision),
                            problem: Some(problem),
                        });
                        wait = backoff;
                        backoff = (backoff * 2).min(Duration::from_secs(60));
                    }
                }
            }
            Ok(Some((_, revision))) => link.set_state(LinkState {
                configured: true,
                wanted: Some(revision),
                problem: None,
            }),
            Err(problem) => {
                tracing::warn!(%problem, "odoo settings unusable; keeping the current connection");
                link.set_state(LinkState {
                    configured: true,
                    wanted: link.state().wanted,
                    problem: Some(problem),
                });
            }
        }
        // Recorded when it changes, and every 30 s so the page knows the instance runs
        // (it lists those seen in the last minute): not a write every few seconds.
        let now_running = (link.revision(), link.state().problem);
        if last_report
            .as_ref()
            .is_none_or(|(r, at)| *r != now_running || at.elapsed() >= Duration::from_secs(30))
        {
            match report(&db, &instance, &now_running).await {
                Ok(()) => last_report = Some((now_running, std::time::Instant::now())),
                Err(e) => {
                    tracing::warn!(error = %e, "could not record this instance's odoo connection")
                }
            }
        }
        if let Some(keys) = &settings.sealing {
            if let Err(e) = reseal(&db, keys).await {
                tracing::warn!(error = %e, "could not seal the odoo api key under the new server key");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = link.reread_requested() => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// The settings revision an instance runs on, and why not the one in force.
type Running = (Option<i64>, Option<String>);

/// Records which revision this instance runs on (for the admin page), and forgets
/// instances not seen for a day. Keyed on no key: an upsert of this instance's own row and
/// a delete of stale ones, every 30 s on every instance, must not queue an exclusive lock
/// request behind a planning import (every keyed writer would then wait behind it).
async fn report(db: &Db, instance: &str, (revision, problem): &Running) -> Result<(), sqlx::Error> {
    let mut tx = db::write_keyed(db, &[]).await?;
    sqlx::query(
        "INSERT INTO odoo_link_instances (instance, revision, problem, seen_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (instance) DO UPDATE SET revision = excluded.revision, problem = excluded.problem, seen_at = excluded.seen_at",
    )
    .bind(instance)
    .bind(revision)
    .bind(problem)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM odoo_link_instances WHERE seen_at < $1")
        .bind(db::at(-chrono::Duration::days(1)))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The instances seen in the last minute: (instance, revision it runs on, problem).
pub async fn instances(db: &Db) -> Result<Vec<(String, Option<i64>, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT instance, revision, problem FROM odoo_link_instances WHERE seen_at >= $1 ORDER BY instance",
    )
    .bind(db::at(-chrono::Duration::seconds(60)))
    .fetch_all(db)
    .await
}

/// After a server key rotation: the stored key, sealed under a previous server key, is
/// sealed again under the current one (the revision stays: nothing to reconnect).
async fn reseal(db: &Db, keys: &SealingKeys) -> Result<(), sqlx::Error> {
    let Some(row) = stored(db).await? else {
        return Ok(());
    };
    if keys.is_current(&row.sealed) {
        return Ok(());
    }
    let Ok(key) = keys.open(&row.sealed, API_KEY_CONTEXT) else {
        return Ok(());
    };
    let sealed = keys.seal(key.expose(), API_KEY_CONTEXT);
    // One conditional update (the revision and key it read): keyed on no key.
    let mut tx = db::write_keyed(db, &[]).await?;
    sqlx::query("UPDATE odoo_connection SET key_id = $1, api_key_nonce = $2, api_key_sealed = $3 WHERE id = 1 AND revision = $4 AND key_id = $5")
        .bind(&sealed.key_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(row.revision)
        .bind(&row.sealed.key_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(from = %row.sealed.key_id, to = %sealed.key_id, "odoo api key sealed under the new server key");
    Ok(())
}

/// What an admin typed; an empty API key keeps the one in use (for the same Odoo).
#[derive(Clone)]
pub struct Form {
    pub url: String,
    pub database: String,
    pub login: String,
    pub api_key: String,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("login", &self.login)
            .field("api_key", &"***")
            .finish()
    }
}

/// Checks the form and fills in the key in use when none was typed.
async fn settings_from(db: &Db, settings: &Settings, form: &Form) -> Result<OdooSettings, String> {
    let url = form.url.trim().trim_end_matches('/').to_string();
    match reqwest::Url::parse(&url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            return Err("The URL must start with https:// (or http://).".into())
        }
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            return Err("Put the login and the API key in their own fields, not in the URL.".into())
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            return Err("The URL needs a host, e.g. https://mycompany.odoo.com.".into())
        }
        Ok(_) => {}
        Err(_) => {
            return Err(
                "The URL is not a web address; use the address you open Odoo at, e.g. https://mycompany.odoo.com."
                    .into(),
            )
        }
    }
    let database = form.database.trim().to_string();
    let login = form.login.trim().to_string();
    if database.is_empty() {
        return Err("Enter the Odoo database name (shown in Odoo under Settings, or in the database selector).".into());
    }
    if login.is_empty() {
        return Err("Enter the login of the Odoo user the portal acts as.".into());
    }
    let key = match form.api_key.trim() {
        // The key in use goes only to the Odoo, database and user it was given for.
        "" => match wanted(db, settings).await {
            Ok(Some((current, _)))
                if current.url.trim_end_matches('/') == url
                    && current.database == database
                    && current.login == login =>
            {
                current.api_key
            }
            Ok(Some(_)) => return Err("Type the API key again: the URL, database or login changed, and the key in use is only ever sent to the Odoo it was given for.".into()),
            _ => return Err("Enter the API key (Odoo: Preferences → Account Security → New API Key).".into()),
        },
        typed => Secret::new(typed),
    };
    Ok(with_base(settings, url, database, login, key))
}

/// The checks of `millrace odoo check`, and that this is the Odoo database the portal
/// has synced: of its five latest orders, at least one must be there under the same name
/// and id (orders, lines and pending write-backs are keyed by Odoo's ids, so another
/// database would mix them up; one deleted order alone does not make another database).
async fn checked(db: &Db, want: OdooSettings) -> Result<(OdooClient, CheckReport), String> {
    let (client, mut report) = check::connect_and_check(want, Given::AdminPage).await?;
    let known: Vec<(i64, String)> =
        sqlx::query_as("SELECT odoo_id, name FROM purchase_orders ORDER BY odoo_id DESC LIMIT 5")
            .fetch_all(db)
            .await
            .map_err(|e| format!("cannot read the portal's orders: {e}"))?;
    if known.is_empty() {
        return Ok((client, report));
    }
    let ids: Vec<i64> = known.iter().map(|(id, _)| *id).collect();
    match client
        .search_read(
            "purchase.order",
            serde_json::json!([["id", "in", ids]]),
            &["name"],
            super::odoo::client::SearchOptions::default(),
        )
        .await
    {
        Ok(there) => {
            let same = there.iter().any(|o| {
                known.iter().any(|(id, name)| {
                    o.get("id").and_then(serde_json::Value::as_i64) == Some(*id)
                        && o.get("name").and_then(serde_json::Value::as_str) == Some(name)
                })
            });
            if !same {
                let names: Vec<&str> = known.iter().map(|(_, n)| n.as_str()).collect();
                report.problems.push(format!(
                    "the portal's orders: this Odoo holds none of {} under the same id; it looks like another database, and the portal's orders and pending answers would be mixed with its records",
                    names.join(", ")
                ));
            }
        }
        Err(e) => report.problems.push(format!(
            "the portal's orders: could not look for them in this Odoo ({e})"
        )),
    }
    Ok((client, report))
}

/// "Test connection": the checks of `millrace odoo check` with the form's values; nothing
/// is stored. Audited (it uses credentials).
pub async fn test(
    db: &Db,
    settings: &Settings,
    actor: &CurrentUser,
    ip: &str,
    form: &Form,
) -> Result<CheckReport, String> {
    let want = settings_from(db, settings, form).await?;
    let result = checked(db, want.clone()).await;
    let outcome = match &result {
        Ok((_, r)) if r.is_ok() => "ok".to_string(),
        Ok((_, r)) => format!("problems: {}", r.problems.join(", ")),
        Err(e) => e.clone(),
    };
    audit(
        db,
        Some(actor.id),
        "odoo_connection_tested",
        "odoo",
        &format!(
            "{} db {} as {}: {outcome}",
            want.url, want.database, want.login
        ),
        ip,
    )
    .await
    .map_err(|e| format!("could not write the audit log: {e}"))?;
    result.map(|(_, report)| report)
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<IdempotencyError> for SaveError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::Db(e) => SaveError::Db(e),
            other => SaveError::Invalid(other.to_string()),
        }
    }
}

/// Saves the form once Odoo accepted it and nothing is missing; this instance switches at
/// once, the others within seconds. Returns the check's report and the new revision.
pub async fn save(
    db: &Db,
    settings: &Settings,
    link: &OdooLink,
    actor: &CurrentUser,
    ip: &str,
    form: &Form,
    key: Option<&str>,
) -> Result<(CheckReport, i64), SaveError> {
    // The API key enters the request's hash only (server::idempotency), never stored.
    let submission = Submission::new(
        actor.id,
        key,
        "save_odoo_connection",
        &(&form.url, &form.database, &form.login, &form.api_key),
    )
    .map_err(SaveError::from)?;
    let Some(keys) = &settings.sealing else {
        return Err(SaveError::Invalid(
            "Saving Odoo settings here needs a server key to seal the API key: set MILLRACE_SECRET_KEY (32 random bytes in base64, e.g. from `openssl rand -base64 32`) on every instance, or keep using the MILLRACE_ODOO_* variables.".into(),
        ));
    };
    let want = settings_from(db, settings, form)
        .await
        .map_err(SaveError::Invalid)?;
    let what = format!("{} db {} as {}", want.url, want.database, want.login);
    let refused = |why: String| {
        let detail = format!("{what}: {why}");
        async move {
            audit(
                db,
                Some(actor.id),
                "odoo_connection_refused",
                "odoo",
                &detail,
                ip,
            )
            .await
            .err()
            .map(SaveError::Db)
            .unwrap_or_else(|| SaveError::Invalid(format!("Not saved: {why}")))
        }
    };
    let (client, report) = match checked(db, want.clone()).await {
        Ok(ok) => ok,
        Err(why) => return Err(refused(why).await),
    };
    if !report.is_ok() {
        let why = format!(
            "Odoo answered, but the portal would miss {}; give the user those rights or fields first",
            report.problems.join(", ")
        );
        return Err(refused(why).await);
    }
    let previous = stored(db).await?;
    let key_changed = form.api_key.trim() != "";
    let sealed = keys.seal(want.api_key.expose(), API_KEY_CONTEXT);
    let mut tx = db::write(db).await?;
    // The same form saved twice (a double click, a retry) makes one revision.
    if let Some((lines, problems, optional, revision)) = submission.replay(&mut tx).await? {
        return Ok((
            CheckReport {
                lines,
                problems,
                optional,
            },
            revision,
        ));
    }
    let (revision,): (i64,) = sqlx::query_as(
        "INSERT INTO odoo_connection (id, url, database_name, login, key_id, api_key_nonce, api_key_sealed, revision, updated_by, updated_at)
         VALUES (1, $1, $2, $3, $4, $5, $6, 1, $7, $8)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, database_name = excluded.database_name,
           login = excluded.login, key_id = excluded.key_id, api_key_nonce = excluded.api_key_nonce,
           api_key_sealed = excluded.api_key_sealed, revision = odoo_connection.revision + 1,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at
         RETURNING revision",
    )
    .bind(&want.url)
    .bind(&want.database)
    .bind(&want.login)
    .bind(&sealed.key_id)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(actor.id)
    .bind(db::now())
    .fetch_one(&mut *tx)
    .await?;
    submission
        .record(
            &mut tx,
            &(&report.lines, &report.problems, &report.optional, revision),
        )
        .await?;
    let mut changes = Vec::new();
    match &previous {
        None => changes.push(format!(
            "first saved here: {} db {} as {}",
            want.url, want.database, want.login
        )),
        Some(p) => {
            for (what, before, after) in [
                ("url", &p.url, &want.url),
                ("database", &p.database, &want.database),
                ("login", &p.login, &want.login),
            ] {
                if before != after {
                    changes.push(format!("{what} {before} → {after}"));
                }
            }
        }
    }
    changes.push(if key_changed {
        "API key replaced".into()
    } else {
        "API key kept".into()
    });
    // The revision and its audit entry: both or neither.
    audit(
        &mut *tx,
        Some(actor.id),
        "odoo_connection_saved",
        "odoo",
        &format!("revision {revision}: {}", changes.join("; ")),
        ip,
    )
    .await?;
    tx.commit().await?;
    link.install(client, revision);
    link.reread();
    Ok((report, revision))
}

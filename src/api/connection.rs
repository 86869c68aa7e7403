//! The Odoo connection on `/admin/odoo` (admins): where it comes from, whether this
//! instance is connected, test and save (the API key is taken, sealed, never shown back).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// Where the settings in force come from: saved on this page, the environment, or none.
    pub source: ConnectionSource,
    pub url: String,
    pub database: String,
    pub login: String,
    /// Who saved them here, and when (the admin's time zone).
    pub saved_by: Option<String>,
    pub saved_at: Option<String>,
    /// The revision in force (0: the environment's) and the one this instance runs on.
    pub revision: Option<i64>,
    pub running_revision: Option<i64>,
    /// "Odoo 19 (json-2), user id 2", when this instance is connected.
    pub connected: Option<String>,
    /// Why this instance is not connected with the settings in force.
    pub problem: Option<String>,
    /// Whether this server can seal an API key (has `MILLRACE_SECRET_KEY`).
    pub can_save: bool,
    /// Every instance seen in the last minute and the revision it runs on.
    pub instances: Vec<InstanceLink>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceLink {
    pub instance: String,
    pub revision: Option<i64>,
    pub problem: Option<String>,
    /// This is the instance that answered.
    pub this: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionSource {
    AdminPage,
    Environment,
    None,
}

/// What a test or a save found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The revision saved, for a save.
    pub saved_revision: Option<i64>,
    /// Server, transport, user.
    pub lines: Vec<String>,
    /// Required models, fields or rights missing (nothing is saved).
    pub problems: Vec<String>,
    /// Optional parts missing, each with what the portal does without it.
    pub optional: Vec<String>,
}

#[server(endpoint = "admin/odoo", input = GetUrl)]
pub async fn odoo_connection() -> Result<ConnectionView, AppError> {
    use super::context;
    use crate::server::connection;
    let user = context::admin_user()?;
    let state = context::state()?;
    let stored = connection::stored(&state.db)
        .await
        .map_err(context::internal)?;
    let clock = crate::server::time::UserClock::for_zone(&user.time_zone);
    let instances = connection::instances(&state.db)
        .await
        .map_err(context::internal)?
        .into_iter()
        .map(|(instance, revision, problem)| InstanceLink {
            this: instance == state.instance,
            instance,
            revision,
            problem,
        })
        .collect();
    let link = state.odoo.state();
    let mut view = ConnectionView {
        source: ConnectionSource::None,
        url: String::new(),
        database: String::new(),
        login: String::new(),
        saved_by: None,
        saved_at: None,
        revision: None,
        running_revision: state.odoo.revision(),
        connected: state.odoo.client().map(|c| {
            format!(
                "Odoo {} ({}), user id {}",
                c.version,
                c.transport.name(),
                c.uid
            )
        }),
        problem: link.problem,
        can_save: state.settings.sealing.is_some(),
        instances,
    };
    match (stored, &state.settings.odoo) {
        (Some(s), _) => {
            view.source = ConnectionSource::AdminPage;
            view.url = s.url;
            view.database = s.database;
            view.login = s.login;
            view.saved_by = s.updated_by;
            view.saved_at = Some(clock.datetime(&s.updated_at));
            view.revision = Some(s.revision);
        }
        (None, Some(env)) => {
            view.source = ConnectionSource::Environment;
            view.url = env.url.clone();
            view.database = env.database.clone();
            view.login = env.login.clone();
            view.revision = Some(0);
        }
        (None, None) => {}
    }
    Ok(view)
}

/// `intent` is `test` (check only) or `save` (check, then store and switch). An empty
/// `api_key` keeps the key in use.
#[server(endpoint = "admin/odoo/apply")]
pub async fn apply_odoo_connection(
    csrf_token: String,
    url: String,
    database: String,
    login: String,
    api_key: String,
    intent: String,
    idempotency_key: Option<String>,
) -> Result<CheckOutcome, AppError> {
    use super::context;
    use crate::server::connection::{self, Form, SaveError};
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::admin_user()?;
    let state = context::state()?;
    let form = Form {
        url,
        database,
        login,
        api_key,
    };
    let ip = context::client_ip();
    match intent.as_str() {
        "test" => connection::test(&state.db, &state.settings, &user, &ip, &form)
            .await
            .map(|report| CheckOutcome {
                saved_revision: None,
                lines: report.lines,
                problems: report.problems,
                optional: report.optional,
            })
            .map_err(|e| context::invalid(crate::server::problem::sentence(&e))),
        "save" => {
            match connection::save(
                &state.db,
                &state.settings,
                &state.odoo,
                &user,
                &ip,
                &form,
                idempotency_key.as_deref(),
            )
            .await
            {
                Ok((report, revision)) => {
                    // Deliveries waiting for Odoo go now.
                    state.wake_jobs();
                    state.poll_wake.notify_one();
                    Ok(CheckOutcome {
                        saved_revision: Some(revision),
                        lines: report.lines,
                        problems: report.problems,
                        optional: report.optional,
                    })
                }
                Err(SaveError::Invalid(e)) => {
                    Err(context::invalid(crate::server::problem::sentence(&e)))
                }
                Err(SaveError::Db(e)) => Err(context::internal(e)),
            }
        }
        _ => Err(context::invalid("Choose Test connection or Save.")),
    }
}

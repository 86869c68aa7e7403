//! `millrace odoo check`: connect with the configured settings and report the server
//! version, the transport chosen, the user, the modules, every required model, field or
//! access right that is missing (with what breaks) and every optional one (with what is
//! lost). Wrong URL, database, login or key each get one clear line.

use serde_json::{json, Value};

use super::client::SearchOptions;
use super::error::ServerErrorKind;
use super::fields::{self, Need, Optional};
use super::{OdooClient, OdooError, OdooSettings};

#[derive(Debug, Default)]
pub struct CheckReport {
    pub lines: Vec<String>,
    /// Required things that are missing: the portal cannot run on this Odoo.
    pub problems: Vec<String>,
    /// Optional things that are missing: the portal runs, with what is lost said.
    pub optional: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for l in &self.lines {
            writeln!(f, "{l}")?;
        }
        for p in &self.problems {
            writeln!(f, "required, missing: {p}")?;
        }
        for p in &self.optional {
            writeln!(f, "optional, missing: {p}")?;
        }
        writeln!(
            f,
            "{}",
            match (self.is_ok(), self.optional.is_empty()) {
                (true, true) => "result: ok",
                (true, false) => "result: ok, with optional parts missing (see above)",
                (false, _) => "result: problems found",
            }
        )
    }
}

/// Where the settings came from, so a problem names the thing to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Given {
    /// `MILLRACE_ODOO_*` variables (`millrace odoo check`, `serve`).
    Environment,
    /// The admin page's form.
    AdminPage,
}

impl Given {
    fn url(self) -> &'static str {
        match self {
            Given::Environment => "MILLRACE_ODOO_URL",
            Given::AdminPage => "the URL",
        }
    }
    fn database(self) -> &'static str {
        match self {
            Given::Environment => "MILLRACE_ODOO_DB",
            Given::AdminPage => "the database name",
        }
    }
    fn credentials(self) -> &'static str {
        match self {
            Given::Environment => "MILLRACE_ODOO_LOGIN and MILLRACE_ODOO_API_KEY",
            Given::AdminPage => "the login and the API key",
        }
    }
    fn login(self) -> &'static str {
        match self {
            Given::Environment => "MILLRACE_ODOO_LOGIN",
            Given::AdminPage => "the login",
        }
    }
}

/// Turns a connection failure into the one line an admin can act on.
pub fn explain(e: &OdooError, settings: &OdooSettings, given: Given) -> String {
    match e {
        OdooError::Unreachable { detail } => format!(
            "cannot reach {} ({detail}): check {}",
            settings.url,
            given.url()
        ),
        OdooError::Timeout => format!(
            "{} did not answer in time: check {} and the network",
            settings.url,
            given.url()
        ),
        OdooError::Http { status, .. } => format!(
            "{} answered HTTP {status}: is {} the Odoo server's base URL?",
            settings.url,
            given.url()
        ),
        OdooError::Server {
            kind: ServerErrorKind::UnknownDatabase,
            ..
        } => format!(
            "database '{}' does not exist on {}: check {}",
            settings.database,
            settings.url,
            given.database()
        ),
        OdooError::Server {
            kind: ServerErrorKind::AccessDenied,
            ..
        } => format!(
            "Odoo refused login '{}' with this API key: check {}",
            settings.login,
            given.credentials()
        ),
        other => format!("{other}"),
    }
}

/// `millrace odoo check`: the checks with the environment's settings.
pub async fn run(settings: OdooSettings) -> Result<CheckReport, String> {
    connect_and_check(settings, Given::Environment)
        .await
        .map(|(_, report)| report)
}

/// Connects, makes sure the key belongs to the login, and reports every required model,
/// field or access right that is missing; the connected client comes back for use.
pub async fn connect_and_check(
    settings: OdooSettings,
    given: Given,
) -> Result<(OdooClient, CheckReport), String> {
    let client = OdooClient::connect(settings.clone())
        .await
        .map_err(|e| explain(&e, &settings, given))?;
    // JSON-2 authenticates by key alone: make sure the key belongs to the configured login.
    let me = client
        .read("res.users", &[client.uid], &["login", "name"])
        .await
        .map_err(|e| explain(&e, &settings, given))?;
    let login = me
        .first()
        .and_then(|u| u.get("login"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !login.is_empty() && login != settings.login {
        return Err(format!(
            "the API key belongs to '{login}', not '{}': check {}",
            settings.login,
            given.login()
        ));
    }
    let mut report = CheckReport::default();
    report.lines.push(format!(
        "server: Odoo {} at {}",
        client.version, settings.url
    ));
    report
        .lines
        .push(format!("transport: {}", client.transport.name()));
    report
        .lines
        .push(format!("user: {login} (uid {})", client.uid));
    let caps = client.caps.clone();
    report.lines.push(match &caps.modules {
        Some(m) if m.is_empty() => "modules: none of interest installed".to_string(),
        Some(m) => format!("modules: {}", m.join(", ")),
        None => {
            "modules: not readable by this user (capabilities read from the fields)".to_string()
        }
    });
    for m in caps.missing() {
        match m.need {
            Need::Required(breaks) => report.problems.push(format!("{}: {breaks}", m.what)),
            Need::Optional(_) => {}
        }
    }
    for part in Optional::ALL {
        if caps.supports(part) {
            continue;
        }
        let mut what: Vec<String> = caps
            .missing()
            .into_iter()
            .filter(|m| m.need == Need::Optional(part))
            .map(|m| m.what)
            .collect();
        if what.is_empty() && part == Optional::TrackingReference {
            what.push("field stock.picking.carrier_tracking_ref (receipts are missing too)".into());
        }
        if !what.is_empty() {
            report.optional.push(format!(
                "{} (from {}): {}",
                what.join(", "),
                part.modules(),
                part.loss()
            ));
        }
    }
    // Read access to each model the portal uses and this Odoo has.
    for model in fields::models() {
        if caps.read_fields(model, &[]).is_empty() {
            continue;
        }
        let limit = SearchOptions {
            limit: Some(1),
            ..Default::default()
        };
        if let Err(e) = client.search(model, json!([]), limit).await {
            let line = if e.kind() == Some(ServerErrorKind::Access) {
                format!("read access to {model}")
            } else {
                format!("read access to {model} ({e})")
            };
            let required = fields::USES
                .iter()
                .any(|u| u.model == model && matches!(u.need, Need::Required(_)));
            if required {
                report.problems.push(line);
            } else {
                report.optional.push(line);
            }
        }
    }
    Ok((client, report))
}

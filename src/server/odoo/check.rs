//! `millrace odoo check`: connect with the configured settings and report the server
//! version, the transport chosen, the user, and every required model, field or access right
//! that is missing. Wrong URL, database, login or key each get one clear line.

use serde_json::{json, Map, Value};

use super::error::ServerErrorKind;
use super::{OdooClient, OdooError, OdooSettings};

#[derive(Debug, Default)]
pub struct CheckReport {
    pub lines: Vec<String>,
    pub problems: Vec<String>,
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
            writeln!(f, "missing: {p}")?;
        }
        writeln!(
            f,
            "{}",
            if self.is_ok() {
                "result: ok"
            } else {
                "result: problems found"
            }
        )
    }
}

/// Turns a connection failure into the one line an admin can act on.
pub fn explain(e: &OdooError, settings: &OdooSettings) -> String {
    match e {
        OdooError::Unreachable { detail } => format!("cannot reach {} ({detail}): check MILLRACE_ODOO_URL", settings.url),
        OdooError::Timeout => format!("{} did not answer in time: check MILLRACE_ODOO_URL and the network", settings.url),
        OdooError::Http { status, .. } => format!("{} answered HTTP {status}: is MILLRACE_ODOO_URL the Odoo server's base URL?", settings.url),
        OdooError::Server { kind: ServerErrorKind::UnknownDatabase, .. } => format!("database '{}' does not exist on {}: check MILLRACE_ODOO_DB", settings.database, settings.url),
        OdooError::Server { kind: ServerErrorKind::AccessDenied, .. } => format!("Odoo refused login '{}' with this API key: check MILLRACE_ODOO_LOGIN and MILLRACE_ODOO_API_KEY", settings.login),
        other => format!("{other}"),
    }
}

pub async fn run(settings: OdooSettings) -> Result<CheckReport, String> {
    let client = OdooClient::connect(settings.clone())
        .await
        .map_err(|e| explain(&e, &settings))?;
    // JSON-2 authenticates by key alone: make sure the key belongs to the configured login.
    let me = client
        .read("res.users", &[client.uid], &["login", "name"])
        .await
        .map_err(|e| explain(&e, &settings))?;
    let login = me
        .first()
        .and_then(|u| u.get("login"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !login.is_empty() && login != settings.login {
        return Err(format!(
            "the API key belongs to '{login}', not '{}': check MILLRACE_ODOO_LOGIN",
            settings.login
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
    for (model, fields) in client.fields.required() {
        let mut p = Map::new();
        p.insert("attributes".into(), json!(["type"]));
        match client.call(model, "fields_get", None, p).await {
            Ok(Value::Object(known)) => {
                for f in fields {
                    if !known.contains_key(f) {
                        report.problems.push(format!("field {model}.{f}"));
                    }
                }
                let mut p = Map::new();
                p.insert("domain".into(), json!([]));
                p.insert("limit".into(), json!(1));
                if let Err(e) = client.call(model, "search", None, p).await {
                    report
                        .problems
                        .push(format!("read access to {model} ({e})"));
                }
            }
            Ok(other) => report
                .problems
                .push(format!("model {model} (fields_get answered {other})")),
            Err(e) if e.kind() == Some(ServerErrorKind::Access) => {
                report.problems.push(format!("access right on {model}"))
            }
            Err(e) => report.problems.push(format!("model {model} ({e})")),
        }
    }
    Ok(report)
}

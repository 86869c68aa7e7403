//! One Odoo client over two transports: JSON-RPC (`/jsonrpc`, `object.execute_kw`, Odoo 17+)
//! and JSON-2 (`/json/2/<model>/<method>`, bearer key, named arguments, Odoo 19+).
//! Calls are bounded per Odoo database by a semaphore (back-pressure toward Odoo).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use super::error::OdooError;
use super::error::ServerErrorKind;
use super::fields::{self, Capabilities, ModelAnswer};
use crate::server::settings::Secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    JsonRpc,
    Json2,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::JsonRpc => "json-rpc",
            Transport::Json2 => "json-2",
        }
    }
}

/// Which transport to use: the best the server has, or one forced by a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportChoice {
    Auto,
    Force(Transport),
}

impl std::str::FromStr for TransportChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" | "" => Ok(TransportChoice::Auto),
            "jsonrpc" | "json-rpc" => Ok(TransportChoice::Force(Transport::JsonRpc)),
            "json2" | "json-2" => Ok(TransportChoice::Force(Transport::Json2)),
            other => Err(format!(
                "unknown odoo transport '{other}' (use auto, jsonrpc or json2)"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct OdooSettings {
    pub url: String,
    pub database: String,
    pub login: String,
    pub api_key: Secret,
    pub transport: TransportChoice,
    pub timeout: Duration,
    /// At most this many calls in flight toward this Odoo database.
    pub max_concurrent_calls: usize,
}

#[derive(Clone)]
pub struct OdooClient {
    http: reqwest::Client,
    settings: Arc<OdooSettings>,
    pub version: u8,
    pub transport: Transport,
    pub uid: i64,
    /// What this Odoo has of the models and fields the portal uses (learnt at connect time).
    pub caps: Arc<Capabilities>,
    permits: Arc<Semaphore>,
    next_id: Arc<AtomicU64>,
    /// Told whether Odoo answers (for `/readyz`).
    health: Option<Arc<crate::server::telemetry::Health>>,
}

impl std::fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdooClient")
            .field("url", &self.settings.url)
            .field("version", &self.version)
            .field("transport", &self.transport)
            .finish()
    }
}

/// Search options for `search_read`.
#[derive(Clone, Debug, Default)]
pub struct SearchOptions<'a> {
    pub order: Option<&'a str>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl OdooClient {
    /// Detects the server version, picks the transport and checks the credentials.
    pub async fn connect(settings: OdooSettings) -> Result<Self, OdooError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("millrace/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OdooError::Protocol(e.to_string()))?;
        let mut client = Self {
            http,
            permits: Arc::new(Semaphore::new(settings.max_concurrent_calls.max(1))),
            settings: Arc::new(settings),
            version: 0,
            transport: Transport::JsonRpc,
            uid: 0,
            caps: Arc::new(Capabilities::everything()),
            next_id: Arc::new(AtomicU64::new(1)),
            health: None,
        };
        let info = client.rpc("/web/webclient/version_info", json!({})).await?;
        client.version = info
            .get("server_version_info")
            .and_then(|v| v.get(0))
            .and_then(Value::as_u64)
            .ok_or_else(|| OdooError::Protocol(format!("no server_version_info in {info}")))?
            as u8;
        client.transport = match client.settings.transport {
            TransportChoice::Force(t) => t,
            TransportChoice::Auto if client.version >= 19 => Transport::Json2,
            TransportChoice::Auto => Transport::JsonRpc,
        };
        client.uid = match client.transport {
            Transport::JsonRpc => {
                let s = &client.settings;
                let uid = client
                    .rpc("/jsonrpc", json!({"service": "common", "method": "authenticate", "args": [s.database, s.login, s.api_key.expose(), {}]}))
                    .await?;
                uid.as_i64().ok_or_else(|| {
                    OdooError::from_exception(
                        "odoo.exceptions.AccessDenied",
                        "wrong login or API key",
                    )
                })?
            }
            Transport::Json2 => {
                let ctx = client
                    .call("res.users", "context_get", Call::model())
                    .await?;
                ctx.get("uid")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| OdooError::Protocol(format!("no uid in {ctx}")))?
            }
        };
        client.caps = Arc::new(client.detect_capabilities().await?);
        Ok(client)
    }

    /// Asks `fields_get` of every model the portal uses (a model Odoo does not have, or
    /// that the integration user may not read, counts as absent) and, where readable,
    /// which modules of interest are installed. Nothing is assumed from the version.
    async fn detect_capabilities(&self) -> Result<Capabilities, OdooError> {
        let mut answers = Vec::new();
        for model in fields::models() {
            let found = match self.fields_get(model).await {
                Ok(known) => ModelAnswer::Fields(known.keys().cloned().collect()),
                Err(e) if e.kind() == Some(ServerErrorKind::Access) => ModelAnswer::Denied,
                Err(e) if e.kind().is_some() => {
                    tracing::info!(model, error = %e, "odoo model not available");
                    ModelAnswer::Absent
                }
                Err(e) => return Err(e),
            };
            answers.push((model, found));
        }
        let modules = match self
            .search_read(
                fields::MODULE,
                json!([
                    ["name", "in", fields::MODULES_OF_INTEREST],
                    ["state", "=", "installed"]
                ]),
                &["name"],
                SearchOptions::default(),
            )
            .await
        {
            Ok(rows) => {
                let mut names: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.get("name").and_then(Value::as_str).map(String::from))
                    .collect();
                names.sort();
                Some(names)
            }
            Err(e) if e.kind().is_some() => None,
            Err(e) => return Err(e),
        };
        Ok(Capabilities::from_fields(answers, modules))
    }

    /// Reports every call's outcome to `health` from now on.
    pub fn observed_by(mut self, health: Arc<crate::server::telemetry::Health>) -> Self {
        self.health = Some(health);
        self
    }

    pub fn url(&self) -> &str {
        &self.settings.url
    }

    pub fn database(&self) -> &str {
        &self.settings.database
    }

    pub fn login(&self) -> &str {
        &self.settings.login
    }

    /// One JSON-RPC request; errors come back with HTTP 200 and are classified on the body.
    async fn rpc(&self, path: &str, params: Value) -> Result<Value, OdooError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.settings.url.trim_end_matches('/'), path);
        let body = json!({"jsonrpc": "2.0", "method": "call", "params": params, "id": id});
        let response = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| OdooError::from_transport(&e))?;
        let response = check_status(response).await?;
        let answer: Value = response
            .json()
            .await
            .map_err(|e| OdooError::Protocol(e.to_string()))?;
        if let Some(error) = answer.get("error") {
            let data = error.get("data");
            let name = data
                .and_then(|d| d.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let message = data
                .and_then(|d| d.get("message"))
                .and_then(Value::as_str)
                .or_else(|| error.get("message").and_then(Value::as_str))
                .unwrap_or_default();
            return Err(OdooError::from_exception(name, message));
        }
        // A method returning None answers without a "result" key at all.
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Calls `model.method`. Timed by model, method and transport; its outcome feeds `/readyz`.
    async fn call(&self, model: &str, method: &str, call: Call) -> Result<Value, OdooError> {
        let start = std::time::Instant::now();
        let result = self.call_inner(model, method, call).await;
        metrics::histogram!(
            crate::server::telemetry::ODOO_CALL_SECONDS,
            "model" => model.to_string(),
            "method" => method.to_string(),
            "transport" => self.transport.name()
        )
        .record(start.elapsed().as_secs_f64());
        if let Some(h) = &self.health {
            match &result {
                // Odoo answered, even if with an error of its own.
                Ok(_) | Err(OdooError::Server { .. }) => h.odoo_answered(),
                Err(_) => h.odoo_failed(),
            }
        }
        result
    }

    #[tracing::instrument(skip_all, fields(model, method, transport = self.transport.name()))]
    async fn call_inner(&self, model: &str, method: &str, call: Call) -> Result<Value, OdooError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| OdooError::Protocol("client closed".into()))?;
        let s = &self.settings;
        match self.transport {
            Transport::JsonRpc => {
                let (args, kwargs) = call.for_execute_kw();
                self.rpc(
                    "/jsonrpc",
                    json!({"service": "object", "method": "execute_kw", "args": [s.database, self.uid, s.api_key.expose(), model, method, args, kwargs]}),
                )
                .await
            }
            Transport::Json2 => {
                let body = call.for_json2();
                let url = format!("{}/json/2/{model}/{method}", s.url.trim_end_matches('/'));
                let response = self
                    .http
                    .post(url)
                    .bearer_auth(s.api_key.expose())
                    .header("X-Odoo-Database", &s.database)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| OdooError::from_transport(&e))?;
                let status = response.status();
                if status.is_success() {
                    return response
                        .json()
                        .await
                        .map_err(|e| OdooError::Protocol(e.to_string()));
                }
                if status.as_u16() == 429 {
                    return Err(OdooError::RateLimited {
                        retry_after: retry_after(&response),
                    });
                }
                let text = response.text().await.unwrap_or_default();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v) if v.get("name").is_some() => Err(OdooError::from_exception(
                        v["name"].as_str().unwrap_or_default(),
                        v.get("message").and_then(Value::as_str).unwrap_or_default(),
                    )),
                    _ => Err(OdooError::Http {
                        status: status.as_u16(),
                        body: text.chars().take(300).collect(),
                    }),
                }
            }
        }
    }

    pub async fn search_read(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
        options: SearchOptions<'_>,
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let call = Call::model()
            .arg("domain", domain)
            .kwarg("fields", json!(fields))
            .options(&options);
        records(self.call(model, "search_read", call).await?)
    }

    /// The ids matching `domain`.
    pub async fn search(
        &self,
        model: &str,
        domain: Value,
        options: SearchOptions<'_>,
    ) -> Result<Vec<i64>, OdooError> {
        let call = Call::model().arg("domain", domain).options(&options);
        let v = self.call(model, "search", call).await?;
        v.as_array()
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .ok_or_else(|| OdooError::Protocol(format!("search answered {v}")))
    }

    pub async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let call = Call::records(ids).kwarg("fields", json!(fields));
        records(self.call(model, "read", call).await?)
    }

    /// `read` in a context, e.g. stock levels of one warehouse (`{"warehouse_id": id}`, as
    /// jsonrpc/17 recorded it).
    pub async fn read_in_context(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
        context: Value,
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let call = Call::records(ids)
            .kwarg("fields", json!(fields))
            .kwarg("context", context);
        records(self.call(model, "read", call).await?)
    }

    pub async fn search_count(&self, model: &str, domain: Value) -> Result<u64, OdooError> {
        let v = self
            .call(model, "search_count", Call::model().arg("domain", domain))
            .await?;
        v.as_u64()
            .ok_or_else(|| OdooError::Protocol(format!("search_count answered {v}")))
    }

    /// The model's fields with their type (`fields_get(attributes=['type'])`).
    pub async fn fields_get(&self, model: &str) -> Result<Map<String, Value>, OdooError> {
        let call = Call::model().kwarg("attributes", json!(["type"]));
        match self.call(model, "fields_get", call).await? {
            Value::Object(m) => Ok(m),
            other => Err(OdooError::Protocol(format!("fields_get answered {other}"))),
        }
    }

    /// `write`: the values go positionally on JSON-RPC (Odoo 17's `purchase.order.line.write`
    /// names its parameter `values`, other models `vals`; v17/jsonrpc/37b), as `vals` on JSON-2.
    pub async fn write(&self, model: &str, ids: &[i64], vals: Value) -> Result<(), OdooError> {
        self.call(model, "write", Call::records(ids).arg("vals", vals))
            .await
            .map(|_| ())
    }

    /// `create` of one record: a list of one value dict, positionally on JSON-RPC (Odoo 17
    /// fails `vals_list` given by keyword with IndexError; v17/jsonrpc/25c), by name on JSON-2.
    pub async fn create(&self, model: &str, vals: Value) -> Result<i64, OdooError> {
        let v = self
            .call(
                model,
                "create",
                Call::model().arg("vals_list", json!([vals])),
            )
            .await?;
        v.get(0)
            .and_then(Value::as_i64)
            .or_else(|| v.as_i64())
            .ok_or_else(|| OdooError::Protocol(format!("create answered {v}")))
    }

    /// `create` of several records in one call: the value list positionally on JSON-RPC (as
    /// [`Self::create`]; works on 17 and 19), by name on JSON-2. The new ids, in order.
    pub async fn create_many(&self, model: &str, vals: Vec<Value>) -> Result<Vec<i64>, OdooError> {
        let n = vals.len();
        let v = self
            .call(
                model,
                "create",
                Call::model().arg("vals_list", Value::Array(vals)),
            )
            .await?;
        let ids: Vec<i64> = match &v {
            Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
            other => other.as_i64().into_iter().collect(),
        };
        if ids.len() != n {
            return Err(OdooError::Protocol(format!("create of {n} answered {v}")));
        }
        Ok(ids)
    }

    /// Posts an internal note in the record's chatter. `message_post` is keyword-only on
    /// every version (a positional body fails; v17/jsonrpc/24b).
    pub async fn message_post(&self, model: &str, id: i64, body: &str) -> Result<(), OdooError> {
        let call = Call::records(&[id])
            .kwarg("body", json!(body))
            .kwarg("message_type", json!("comment"))
            .kwarg("subtype_xmlid", json!("mail.mt_note"));
        self.call(model, "message_post", call).await.map(|_| ())
    }

    /// A button method (`button_confirm`, `button_validate`...) on records.
    pub async fn button(&self, model: &str, method: &str, ids: &[i64]) -> Result<Value, OdooError> {
        self.call(model, method, Call::records(ids)).await
    }
}

/// One model method call, encoded per transport: `args` are the leading parameters, passed
/// positionally on JSON-RPC (their names differ between models and versions) and by name on
/// JSON-2 (which takes named arguments only); `kwargs` are passed by name on both, used only
/// where the recordings show every version accepts the name.
#[derive(Clone, Debug, Default)]
struct Call {
    ids: Option<Vec<i64>>,
    args: Vec<(&'static str, Value)>,
    kwargs: Map<String, Value>,
}

impl Call {
    /// A model method (`search_read`, `create`, `fields_get`).
    fn model() -> Self {
        Self::default()
    }

    /// A record method (`read`, `write`, `message_post`, buttons) on `ids`.
    fn records(ids: &[i64]) -> Self {
        Self {
            ids: Some(ids.to_vec()),
            ..Self::default()
        }
    }

    fn arg(mut self, name: &'static str, value: Value) -> Self {
        self.args.push((name, value));
        self
    }

    fn kwarg(mut self, name: &str, value: Value) -> Self {
        self.kwargs.insert(name.to_string(), value);
        self
    }

    fn options(mut self, o: &SearchOptions<'_>) -> Self {
        if let Some(v) = o.order {
            self = self.kwarg("order", json!(v));
        }
        if let Some(v) = o.limit {
            self = self.kwarg("limit", json!(v));
        }
        if let Some(v) = o.offset {
            self = self.kwarg("offset", json!(v));
        }
        self
    }

    /// `execute_kw`'s positional list (ids first for record methods) and keyword dict.
    fn for_execute_kw(self) -> (Value, Value) {
        let mut args: Vec<Value> = Vec::new();
        if let Some(ids) = self.ids {
            args.push(json!(ids));
        }
        args.extend(self.args.into_iter().map(|(_, v)| v));
        (Value::Array(args), Value::Object(self.kwargs))
    }

    /// JSON-2's body: every parameter by name, `ids` for record methods.
    fn for_json2(self) -> Map<String, Value> {
        let mut body = self.kwargs;
        for (name, v) in self.args {
            body.insert(name.to_string(), v);
        }
        if let Some(ids) = self.ids {
            body.insert("ids".into(), json!(ids));
        }
        body
    }
}

async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, OdooError> {
    let status = response.status();
    if status.as_u16() == 429 {
        return Err(OdooError::RateLimited {
            retry_after: retry_after(&response),
        });
    }
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(OdooError::Http {
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        });
    }
    Ok(response)
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn records(v: Value) -> Result<Vec<Map<String, Value>>, OdooError> {
    match v {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect()),
        other => Err(OdooError::Protocol(format!(
            "expected a list of records, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rpc_passes_leading_parameters_by_position_and_json_2_by_name() {
        let write =
            || Call::records(&[61]).arg("vals", json!({"date_planned": "2026-12-20 10:00:00"}));
        let (args, kwargs) = write().for_execute_kw();
        // v17/jsonrpc/37: [[ids], vals], no keyword (17's line write names it `values`).
        assert_eq!(args, json!([[61], {"date_planned": "2026-12-20 10:00:00"}]));
        assert_eq!(kwargs, json!({}));
        let body = write().for_json2();
        assert_eq!(
            Value::Object(body),
            json!({"ids": [61], "vals": {"date_planned": "2026-12-20 10:00:00"}})
        );

        // create: a list of dicts at args[0] (v17/jsonrpc/25b), `vals_list` on JSON-2.
        let create = || Call::model().arg("vals_list", json!([{"name": "coc.pdf"}]));
        assert_eq!(create().for_execute_kw().0, json!([[{"name": "coc.pdf"}]]));
        assert_eq!(
            Value::Object(create().for_json2()),
            json!({"vals_list": [{"name": "coc.pdf"}]})
        );

        // message_post: ids only by position, the rest by keyword (v17/jsonrpc/24).
        let post = Call::records(&[26]).kwarg("body", json!("x"));
        let (args, kwargs) = post.for_execute_kw();
        assert_eq!(args, json!([[26]]));
        assert_eq!(kwargs, json!({"body": "x"}));

        // search_read: the domain by position, options by keyword (v17/jsonrpc/30).
        let search = Call::model()
            .arg("domain", json!([["partner_id", "=", 43]]))
            .kwarg("fields", json!(["name"]))
            .options(&SearchOptions {
                order: Some("name asc"),
                limit: Some(7),
                offset: None,
            });
        let (args, kwargs) = search.for_execute_kw();
        assert_eq!(args, json!([[["partner_id", "=", 43]]]));
        assert_eq!(
            kwargs,
            json!({"fields": ["name"], "order": "name asc", "limit": 7})
        );
    }
}

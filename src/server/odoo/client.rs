//! One Odoo client over two transports: JSON-RPC (`/jsonrpc`, `object.execute_kw`, Odoo 17+)
//! and JSON-2 (`/json/2/<model>/<method>`, bearer key, named arguments, Odoo 19+).
//! Calls are bounded per Odoo database by a semaphore (back-pressure toward Odoo).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use super::error::OdooError;
use super::fields::FieldNames;
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
    pub fields: FieldNames,
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
            fields: FieldNames::for_version(19),
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
        client.fields = FieldNames::for_version(client.version);
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
                    .call("res.users", "context_get", None, Map::new())
                    .await?;
                ctx.get("uid")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| OdooError::Protocol(format!("no uid in {ctx}")))?
            }
        };
        Ok(client)
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

    /// Calls `model.method` with named parameters; `ids` for record methods. Timed by
    /// model, method and transport; its outcome feeds `/readyz`.
    pub async fn call(
        &self,
        model: &str,
        method: &str,
        ids: Option<&[i64]>,
        params: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let start = std::time::Instant::now();
        let result = self.call_inner(model, method, ids, params).await;
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
    async fn call_inner(
        &self,
        model: &str,
        method: &str,
        ids: Option<&[i64]>,
        params: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| OdooError::Protocol("client closed".into()))?;
        let s = &self.settings;
        match self.transport {
            Transport::JsonRpc => {
                let args = match ids {
                    Some(ids) => json!([ids]),
                    None => json!([]),
                };
                self.rpc(
                    "/jsonrpc",
                    json!({"service": "object", "method": "execute_kw", "args": [s.database, self.uid, s.api_key.expose(), model, method, args, params]}),
                )
                .await
            }
            Transport::Json2 => {
                let mut body = params;
                if let Some(ids) = ids {
                    body.insert("ids".into(), json!(ids));
                }
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
        let mut p = Map::new();
        p.insert("domain".into(), domain);
        p.insert("fields".into(), json!(fields));
        if let Some(o) = options.order {
            p.insert("order".into(), json!(o));
        }
        if let Some(l) = options.limit {
            p.insert("limit".into(), json!(l));
        }
        if let Some(o) = options.offset {
            p.insert("offset".into(), json!(o));
        }
        records(self.call(model, "search_read", None, p).await?)
    }

    pub async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let mut p = Map::new();
        p.insert("fields".into(), json!(fields));
        records(self.call(model, "read", Some(ids), p).await?)
    }

    pub async fn search_count(&self, model: &str, domain: Value) -> Result<u64, OdooError> {
        let mut p = Map::new();
        p.insert("domain".into(), domain);
        let v = self.call(model, "search_count", None, p).await?;
        v.as_u64()
            .ok_or_else(|| OdooError::Protocol(format!("search_count answered {v}")))
    }

    pub async fn write(&self, model: &str, ids: &[i64], vals: Value) -> Result<(), OdooError> {
        let mut p = Map::new();
        p.insert("vals".into(), vals);
        self.call(model, "write", Some(ids), p).await.map(|_| ())
    }

    pub async fn create(&self, model: &str, vals: Value) -> Result<i64, OdooError> {
        let mut p = Map::new();
        p.insert("vals_list".into(), json!([vals]));
        let v = self.call(model, "create", None, p).await?;
        v.get(0)
            .and_then(Value::as_i64)
            .or_else(|| v.as_i64())
            .ok_or_else(|| OdooError::Protocol(format!("create answered {v}")))
    }

    /// Posts an internal note in the record's chatter.
    pub async fn message_post(&self, model: &str, id: i64, body: &str) -> Result<(), OdooError> {
        let mut p = Map::new();
        p.insert("body".into(), json!(body));
        p.insert("message_type".into(), json!("comment"));
        p.insert("subtype_xmlid".into(), json!("mail.mt_note"));
        self.call(model, "message_post", Some(&[id]), p)
            .await
            .map(|_| ())
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

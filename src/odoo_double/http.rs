//! The double's wire: JSON-RPC (`/jsonrpc`, `/web/webclient/version_info`) and JSON-2
//! (`/json/2/<model>/<method>`), fault injection, and a read-only page per purchase order
//! for people trying the demo.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::env::{DoubleUser, Env, Fault};

/// Misbehaviour tests can switch on while the double runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every model call.
    pub latency_ms: u64,
    /// Share of model calls answered 503 before anything is done.
    pub error_rate: f64,
    /// Share of model calls that are carried out, after which the reply is lost (502):
    /// the caller cannot tell whether Odoo wrote.
    pub lost_reply_rate: f64,
    /// Answer 429 with this Retry-After (seconds).
    pub rate_limited_retry_after: Option<u64>,
    /// Never answer model calls within the caller's timeout.
    pub hang: bool,
    /// Answer every request 503, as a server that is down behind a proxy.
    pub down: bool,
    /// Refuse every write with an AccessError, as when the integration user lost its
    /// rights (a permanent error: the portal dead-letters at once).
    pub refuse_writes: bool,
    /// Carry out calls of this `model.method` (e.g. `stock.warehouse.orderpoint.create`),
    /// then lose the reply (502), as a process killed mid-batch after Odoo committed.
    pub lose_reply_of: Option<String>,
}

/// Whether `lose_reply_of` names this call.
fn loses_reply_of(s: &Shared, model: &str, method: &str) -> bool {
    s.faults.lock().expect("faults").lose_reply_of.as_deref() == Some(&format!("{model}.{method}"))
}

const WRITE_METHODS: &[&str] = &[
    "create",
    "write",
    "unlink",
    "message_post",
    "button_confirm",
    "button_cancel",
    "button_validate",
    "button_lock",
];

/// The AccessError a write gets while `refuse_writes` is on.
fn refused(s: &Shared, model: &str, method: &str) -> Option<Fault> {
    let on = s.faults.lock().expect("faults").refuse_writes;
    (on && WRITE_METHODS.contains(&method))
        .then(|| super::schema::model(model).map(Fault::access_error))
        .flatten()
}

pub struct Shared {
    pub env: Mutex<Env>,
    pub faults: Mutex<Faults>,
    pub database: String,
    /// Model calls received (both transports), for tests and benchmarks.
    pub calls: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn version(&self) -> u8 {
        self.env.lock().expect("env lock").version
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/web/webclient/version_info", post(version_info))
        .route("/web/version", get(web_version))
        .route("/json/version", get(web_version))
        .route("/jsonrpc", post(jsonrpc))
        .route(
            "/json/2/{model}/{method}",
            post(json2).get(json2_wrong_verb),
        )
        .route(
            "/json/2/{model}",
            post(json2_no_method).get(json2_no_method),
        )
        .route("/__double/faults", get(get_faults).post(set_faults))
        .route("/__double/api-keys", post(api_keys))
        .route("/__double/purchase.order/{name}", get(order_page))
        .route(
            "/__double/purchase.order/{name}/lines/{index}",
            axum::routing::post(edit_line),
        )
        .route(
            "/__double/purchase.order/{name}/receive",
            axum::routing::post(receive),
        )
        .with_state(shared)
}

fn version_payload(version: u8) -> Value {
    json!({
        "server_version": format!("{version}.0"),
        "server_version_info": [version, 0, 0, "final", 0, ""],
        "server_serie": format!("{version}.0"),
        "protocol_version": 1
    })
}

async fn version_info(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(Value::Null);
    if s.faults.lock().expect("faults").down {
        return down();
    }
    Json(json!({"jsonrpc": "2.0", "id": id, "result": version_payload(s.version())}))
        .into_response()
}

async fn web_version(State(s): State<Arc<Shared>>) -> Response {
    let v = s.version();
    if v < 19 {
        return (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html><title>404 Not Found</title>"),
        )
            .into_response();
    }
    Json(json!({"version_info": [v, 0, 0, "final", 0, ""], "version": format!("{v}.0")}))
        .into_response()
}

fn down() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html("<html><body><h1>503 Service Unavailable</h1></body></html>"),
    )
        .into_response()
}

/// Applies the configured faults before a model call. `Err` is the response to send
/// instead; `Ok(true)` means "carry the call out, then lose the reply".
async fn before_call(s: &Shared) -> Result<bool, Response> {
    s.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let f = s.faults.lock().expect("faults").clone();
    if f.down {
        return Err(down());
    }
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if f.hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if let Some(after) = f.rate_limited_retry_after {
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
        r.headers_mut()
            .insert("Retry-After", HeaderValue::from(after));
        return Err(r);
    }
    let roll: f64 = rand::thread_rng().gen();
    if roll < f.error_rate {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "injected fault").into_response());
    }
    Ok(roll < f.error_rate + f.lost_reply_rate)
}

fn lost_reply() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        "injected fault: reply lost after commit",
    )
        .into_response()
}

/// A JSON-RPC error as `version` sends it: `code` is 0 on 19 (shared/odoo-wire), 200 on 17
/// (v17/jsonrpc); 18 is not recorded and is taken to be like 17.
fn rpc_error_of(version: u8, id: Value, name: &str, message: &str) -> Response {
    let code = if version >= 19 { 0 } else { 200 };
    Json(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": code,
            "message": "Odoo Server Error",
            "data": {"name": name, "message": message, "arguments": [message], "context": {}, "debug": format!("Traceback (most recent call last):\n{name}: {message}\n")}
        }
    }))
    .into_response()
}

fn find_user(env: &Env, uid: i64, secret: &str) -> Option<DoubleUser> {
    env.users
        .iter()
        .find(|u| u.uid == uid && u.accepts(secret))
        .cloned()
}

/// Binds `execute_kw`'s positional and keyword arguments to the method's parameters the way
/// the recorded servers do, refusing the forms they refuse:
/// - `create` reads `args[0]`: `vals_list` by keyword fails with IndexError (v17/jsonrpc/25c;
///   not recorded on 19, so refused there too);
/// - `write`'s parameter is `values` on 17's `purchase.order.line` (v17/jsonrpc/37b, 37c) and
///   `vals` elsewhere: the other keyword is an unexpected argument (TypeError);
/// - `message_post` is keyword-only: a positional body is a TypeError (v17/jsonrpc/24b).
fn bind_execute_kw(
    version: u8,
    model: &str,
    method: &str,
    names: &[&str],
    positional: Vec<Value>,
    kwargs: Map<String, Value>,
) -> Result<Map<String, Value>, Fault> {
    let class = python_class(model);
    if method == "create" && positional.is_empty() {
        return Err(Fault::index_error("tuple index out of range"));
    }
    if method == "message_post" && !positional.is_empty() {
        return Err(Fault::type_error(format!(
            "{class}.message_post() takes 1 positional argument but {} were given",
            positional.len() + 1
        )));
    }
    let write_param = if method == "write" && version < 19 && model == "purchase.order.line" {
        "values"
    } else {
        "vals"
    };
    let mut named = Map::new();
    for (k, v) in kwargs {
        if method == "write" && (k == "vals" || k == "values") {
            if k != write_param {
                return Err(Fault::type_error(format!(
                    "{class}.write() got an unexpected keyword argument '{k}'"
                )));
            }
            named.insert("vals".into(), v);
        } else {
            named.insert(k, v);
        }
    }
    for (name, value) in names.iter().zip(positional) {
        named.insert((*name).to_string(), value);
    }
    Ok(named)
}

/// Odoo's Python class name of a model, as its TypeErrors name it (`PurchaseOrderLine`).
fn python_class(model: &str) -> String {
    model
        .split('.')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Positional parameter names per method, after `ids` for record methods.
fn positional_names(method: &str) -> (bool, &'static [&'static str]) {
    match method {
        "search_read" => (false, &["domain", "fields", "offset", "limit", "order"]),
        "search" => (false, &["domain", "offset", "limit", "order"]),
        "search_count" => (false, &["domain", "limit"]),
        "create" => (false, &["vals_list"]),
        "fields_get" => (false, &["allfields", "attributes"]),
        "context_get" => (false, &[]),
        "read" => (true, &["fields", "load"]),
        "write" => (true, &["vals"]),
        "message_post" => (true, &[]),
        _ => (true, &[]),
    }
}

async fn jsonrpc(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        let mut r = (StatusCode::BAD_REQUEST, "Invalid JSON data").into_response();
        r.headers_mut().insert(
            "Content-Type",
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return r;
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let version = s.version();
    let rpc_error = |id: Value, name: &str, message: &str| rpc_error_of(version, id, name, message);
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    let service = params
        .get("service")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let method = params
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let args: Vec<Value> = params
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if s.faults.lock().expect("faults").down {
        return down();
    }
    let ok = |result: Value| {
        if result.is_null() {
            Json(json!({"jsonrpc": "2.0", "id": id.clone()})).into_response()
        } else {
            Json(json!({"jsonrpc": "2.0", "id": id.clone(), "result": result})).into_response()
        }
    };
    match (service.as_str(), method.as_str()) {
        ("common", "version") => ok(version_payload(s.version())),
        ("common", "authenticate" | "login") => {
            let db = args.first().and_then(Value::as_str).unwrap_or_default();
            let login = args.get(1).and_then(Value::as_str).unwrap_or_default();
            let secret = args.get(2).and_then(Value::as_str).unwrap_or_default();
            if db != s.database {
                return rpc_error(
                    id,
                    "psycopg2.OperationalError",
                    &format!("FATAL:  database \"{db}\" does not exist\n"),
                );
            }
            let env = s.env.lock().expect("env");
            let uid = env
                .users
                .iter()
                .find(|u| u.login == login && u.accepts(secret))
                .map(|u| u.uid);
            ok(uid.map(Value::from).unwrap_or(Value::Bool(false)))
        }
        ("common", other) => rpc_error(
            id,
            "builtins.NameError",
            &format!("Method not available {other}"),
        ),
        ("object", "execute_kw" | "execute") => {
            let db = args.first().and_then(Value::as_str).unwrap_or_default();
            if db != s.database {
                return rpc_error(
                    id,
                    "psycopg2.OperationalError",
                    &format!(
                        "connection to server failed: FATAL:  database \"{db}\" does not exist\n"
                    ),
                );
            }
            let lose_reply = match before_call(&s).await {
                Ok(lose) => lose,
                Err(r) => return r,
            };
            let uid = args.get(1).and_then(Value::as_i64).unwrap_or(0);
            let secret = args.get(2).and_then(Value::as_str).unwrap_or_default();
            let model = args
                .get(3)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let model_method = args
                .get(4)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut positional: Vec<Value> = args
                .get(5)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let kwargs: Map<String, Value> = args
                .get(6)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let result = {
                let mut env = s.env.lock().expect("env");
                let Some(user) = find_user(&env, uid, secret) else {
                    return rpc_error(id, "odoo.exceptions.AccessDenied", "Access Denied");
                };
                let (record_method, names) = positional_names(&model_method);
                let ids = if record_method && !positional.is_empty() {
                    let first = positional.remove(0);
                    Some(match first {
                        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                        v => v.as_i64().into_iter().collect(),
                    })
                } else {
                    None
                };
                let named = match bind_execute_kw(
                    env.version,
                    &model,
                    &model_method,
                    names,
                    positional,
                    kwargs,
                ) {
                    Ok(named) => named,
                    Err(f) => return rpc_error(id, f.name, &f.message),
                };
                match refused(&s, &model, &model_method) {
                    Some(fault) => Err(fault),
                    None => env.execute(&user, &model, &model_method, ids, named),
                }
            };
            if lose_reply || loses_reply_of(&s, &model, &model_method) {
                return lost_reply();
            }
            match result {
                Ok(v) => ok(v),
                Err(f) => rpc_error(id, f.name, &f.message),
            }
        }
        ("object", other) => rpc_error(
            id,
            "builtins.NameError",
            &format!("Method not available {other}"),
        ),
        (other, _) => rpc_error(id, "builtins.KeyError", other),
    }
}

fn json2_error(status: u16, name: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (
        status,
        Json(json!({"name": name, "message": message, "arguments": [message, status.as_u16()], "context": {}, "debug": format!("Traceback (most recent call last):\n{name}: {message}\n")})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert("WWW-Authenticate", HeaderValue::from_static("Bearer "));
    }
    r
}

async fn json2_no_method() -> Response {
    json2_error(
        404,
        "werkzeug.exceptions.NotFound",
        "Did you mean POST /json/2/<model>/<method>?",
    )
}

async fn json2_wrong_verb() -> Response {
    json2_no_method().await
}

const MODEL_METHODS: &[&str] = &[
    "search_read",
    "search",
    "search_count",
    "create",
    "fields_get",
    "context_get",
];

async fn json2(
    State(s): State<Arc<Shared>>,
    Path((model, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if s.version() < 19 {
        return (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>"),
        )
            .into_response();
    }
    if s.faults.lock().expect("faults").down {
        return down();
    }
    if let Some(db) = headers.get("X-Odoo-Database").and_then(|v| v.to_str().ok()) {
        if db != s.database {
            return (
                StatusCode::NOT_FOUND,
                Html("<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>No database is selected and the requested URL was not found in the server-wide controllers.</p>"),
            )
                .into_response();
        }
    }
    let token = headers
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("bearer ")
                .or_else(|| v.strip_prefix("Bearer "))
        })
        .map(str::to_string);
    let Some(token) = token else {
        return json2_error(
            401,
            "werkzeug.exceptions.Unauthorized",
            "User not authenticated, use an API Key with a Bearer Authorization header.",
        );
    };
    let user = s
        .env
        .lock()
        .expect("env")
        .users
        .iter()
        .find(|u| u.api_keys.contains(&token))
        .cloned();
    let Some(user) = user else {
        return json2_error(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey");
    };
    let mut params: Map<String, Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => Map::new(),
        Err(e) => {
            return json2_error(
                400,
                "werkzeug.exceptions.BadRequest",
                &format!("could not parse the body as json: {e}"),
            )
        }
    };
    let known = s.env.lock().expect("env").schema.has_model(&model);
    if !known && !(model == "res.users" && method == "context_get") {
        return json2_error(
            404,
            "werkzeug.exceptions.NotFound",
            &format!("the model '{model}' does not exist"),
        );
    }
    let ids = params.remove("ids").map(|v| {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect::<Vec<_>>()
    });
    if ids.is_some() && MODEL_METHODS.contains(&method.as_str()) {
        return json2_error(
            422,
            "werkzeug.exceptions.UnprocessableEntity",
            &format!("cannot call {model}.{method} with ids"),
        );
    }
    let lose_reply = match before_call(&s).await {
        Ok(lose) => lose,
        Err(r) => return r,
    };
    let result = match refused(&s, &model, &method) {
        Some(fault) => Err(fault),
        None => s
            .env
            .lock()
            .expect("env")
            .execute(&user, &model, &method, ids, params),
    };
    if lose_reply || loses_reply_of(&s, &model, &method) {
        return lost_reply();
    }
    match result {
        Ok(v) => Json(v).into_response(),
        Err(Fault {
            name,
            message,
            json2_status,
        }) => {
            let (status, name) = if name == "builtins.AttributeError" {
                (404, "werkzeug.exceptions.NotFound")
            } else {
                (json2_status, name)
            };
            json2_error(status, name, &message)
        }
    }
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Json<Faults> {
    Json(s.faults.lock().expect("faults").clone())
}

async fn set_faults(State(s): State<Arc<Shared>>, Json(f): Json<Faults>) -> Json<Faults> {
    *s.faults.lock().expect("faults") = f.clone();
    Json(f)
}

/// What Odoo holds for one purchase order, as a buyer would see it in Odoo's form view.
#[derive(serde::Deserialize, Default)]
struct Receive {
    /// Book this much less than each move line says (the warehouse counted fewer).
    #[serde(default)]
    short: f64,
}

/// The warehouse validates the order's open receipts, as booked on their move lines
/// (minus `short` on each): what a test needs to see a receipt differ from a notice.
/// `POST /__double/api-keys` `{"login": "admin", "add": "k2"}` or `{"login": ..., "revoke":
/// "k1"}`: what an Odoo user does under Preferences → Account Security (key rotation).
#[derive(serde::Deserialize)]
struct ApiKeyChange {
    login: String,
    #[serde(default)]
    add: Option<String>,
    #[serde(default)]
    revoke: Option<String>,
}

async fn api_keys(State(s): State<Arc<Shared>>, Json(c): Json<ApiKeyChange>) -> Response {
    let mut env = s.env.lock().expect("env");
    let Some(user) = env.users.iter_mut().find(|u| u.login == c.login) else {
        return (StatusCode::NOT_FOUND, format!("no user {}", c.login)).into_response();
    };
    if let Some(k) = c.add.filter(|k| !k.is_empty()) {
        user.api_keys.push(k);
    }
    if let Some(k) = c.revoke {
        user.api_keys.retain(|x| *x != k);
    }
    Json(json!({"keys": user.api_keys.len()})).into_response()
}

async fn receive(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    Json(r): Json<Receive>,
) -> Response {
    let mut env = s.env.lock().expect("env");
    let admin = env.users[0].clone();
    let Some(order) = order_named(&env, &name) else {
        return (StatusCode::NOT_FOUND, format!("no purchase order {name}")).into_response();
    };
    let pickings: Vec<i64> = env
        .ids_where("stock.picking", "purchase_id", &json!(order))
        .into_iter()
        .filter(|p| {
            !matches!(
                env.value("stock.picking", *p, "state").as_str(),
                Some("done" | "cancel")
            )
        })
        .collect();
    for picking in &pickings {
        for ml in env.ids_where("stock.move.line", "picking_id", &json!(picking)) {
            let q = env
                .value("stock.move.line", ml, "quantity")
                .as_f64()
                .unwrap_or(0.0);
            let mut vals = serde_json::Map::new();
            vals.insert("vals".into(), json!({"quantity": (q - r.short).max(0.0)}));
            let _ = env.execute(&admin, "stock.move.line", "write", Some(vec![ml]), vals);
        }
        let _ = env.execute(
            &admin,
            "stock.picking",
            "button_validate",
            Some(vec![*picking]),
            serde_json::Map::new(),
        );
    }
    Json(json!({"validated": pickings})).into_response()
}

fn order_named(env: &Env, name: &str) -> Option<i64> {
    env.ids_where("purchase.order", "name", &json!(name))
        .first()
        .copied()
}

/// `POST /__double/purchase.order/<name>/lines/<index>` with the values to write (e.g.
/// `{"product_qty": 15}`): the buyer edits the order's line (0-based, in id order) in Odoo.
async fn edit_line(
    State(s): State<Arc<Shared>>,
    Path((name, index)): Path<(String, usize)>,
    Json(vals): Json<Map<String, Value>>,
) -> Response {
    let mut env = s.env.lock().expect("env");
    let admin = env.users[0].clone();
    let Some(order) = order_named(&env, &name) else {
        return (StatusCode::NOT_FOUND, format!("no purchase order {name}")).into_response();
    };
    let mut lines = env.ids_where("purchase.order.line", "order_id", &json!(order));
    lines.sort_unstable();
    let Some(line) = lines.get(index).copied() else {
        return (StatusCode::NOT_FOUND, format!("{name} has no line {index}")).into_response();
    };
    let mut p = Map::new();
    p.insert("vals".into(), Value::Object(vals));
    match env.execute(&admin, "purchase.order.line", "write", Some(vec![line]), p) {
        Ok(_) => Json(json!({"line": line})).into_response(),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{e:?}")).into_response(),
    }
}

async fn order_page(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let env = s.env.lock().expect("env");
    let po = super::schema::model("purchase.order").expect("schema");
    let Some((id, _)) = env
        .table("purchase.order")
        .find(|(_, r)| r.get("name").and_then(Value::as_str) == Some(name.as_str()))
    else {
        return (
            StatusCode::NOT_FOUND,
            Html(format!("<p>No purchase order {}</p>", escape(&name))),
        )
            .into_response();
    };
    let id = *id;
    let text = |f: &str| match env.raw(po, id, f) {
        Value::String(s) => s,
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Odoo double: {n}</title></head><body><h1>Odoo double: {n}</h1>\
         <dl><dt>Vendor</dt><dd>{vendor}</dd><dt>State</dt><dd id=\"state\">{state}</dd><dt>Acknowledged</dt><dd id=\"acknowledged\">{ack}</dd>\
         <dt>Write date</dt><dd>{wd}</dd></dl><h2>Lines</h2><table><thead><tr><th>Product</th><th>Quantity</th><th>Scheduled</th><th>Received</th></tr></thead><tbody>",
        n = escape(&name),
        vendor = escape(&env.display_name("res.partner", env.raw(po, id, "partner_id").as_i64().unwrap_or(0))),
        state = escape(&text("state")),
        ack = escape(&text("acknowledged")),
        wd = escape(&text("write_date")),
    );
    let line_model = super::schema::model("purchase.order.line").expect("schema");
    for line in env
        .raw(po, id, "order_line")
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let lid = line.as_i64().unwrap_or(0);
        let f = |field: &str| match env.raw(line_model, lid, field) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        html.push_str(&format!(
            "<tr data-line=\"{lid}\"><td>{}</td><td>{}</td><td class=\"date-planned\">{}</td><td>{}</td></tr>",
            escape(&f("name")),
            escape(&f("product_qty")),
            escape(&f("date_planned")),
            escape(&f("qty_received"))
        ));
    }
    html.push_str("</tbody></table><h2>Chatter</h2><ul id=\"chatter\">");
    let mut messages: Vec<(i64, String, String)> = env
        .table("mail.message")
        .filter(|(_, m)| {
            m.get("model").and_then(Value::as_str) == Some("purchase.order")
                && m.get("res_id").and_then(Value::as_i64) == Some(id)
        })
        .map(|(mid, m)| {
            (
                *mid,
                m.get("date")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                m.get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    messages.sort();
    for (_, date, body) in messages.iter().rev() {
        html.push_str(&format!(
            "<li><time>{}</time> {}</li>",
            escape(date),
            escape(body)
        ));
    }
    html.push_str("</ul></body></html>");
    Html(html).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

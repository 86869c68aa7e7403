//! The double's in-memory database and the model methods it answers, with Odoo's semantics
//! as recorded in shared/odoo-wire: `false` for empty, many2one as `[id, name]`, x2many
//! commands, second-resolution `write_date`, errors named like Odoo's exceptions.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use super::domain::{self, Domain};
use super::schema::{self, FieldType, Model, Modules, Schema};

pub type Record = Map<String, Value>;

/// An error as Odoo would raise it: the Python exception name, its message, and the HTTP
/// status JSON-2 answers with.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub name: &'static str,
    pub message: String,
    pub json2_status: u16,
}

impl Fault {
    fn new(name: &'static str, message: impl Into<String>, json2_status: u16) -> Self {
        Self {
            name,
            message: message.into(),
            json2_status,
        }
    }
    pub fn access_denied() -> Self {
        Self::new("odoo.exceptions.AccessDenied", "Access Denied", 401)
    }
    pub fn access_error(model: &Model) -> Self {
        Self::new(
            "odoo.exceptions.AccessError",
            format!(
                "You are not allowed to access '{}' ({}) records.\n\nThis operation is allowed for the following groups:\n\t- Inventory/User\n\t- Purchase/User\n\nContact your administrator to request access if necessary.",
                model.description, model.name
            ),
            403,
        )
    }
    pub fn missing(model: &str, ids: &[i64], uid: i64) -> Self {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        Self::new(
            "odoo.exceptions.MissingError",
            format!(
                "Record does not exist or has been deleted.\n(Record: {model}({},), User: {uid})",
                ids.join(", ")
            ),
            404,
        )
    }
    pub fn value_error(message: String) -> Self {
        Self::new("builtins.ValueError", message, 500)
    }
    pub fn index_error(message: impl Into<String>) -> Self {
        Self::new("builtins.IndexError", message, 500)
    }
    pub fn type_error(message: String) -> Self {
        Self::new("builtins.TypeError", message, 500)
    }
    pub fn user_error(message: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.UserError", message, 422)
    }
    pub fn validation_error(message: String) -> Self {
        Self::new("odoo.exceptions.ValidationError", message, 422)
    }
    pub fn unknown_method(model: &str, method: &str) -> Self {
        Self::new(
            "builtins.AttributeError",
            format!("The method '{model}.{method}' does not exist"),
            404,
        )
    }
    pub fn private_method(model: &str, method: &str) -> Self {
        Self::new(
            "odoo.exceptions.AccessError",
            format!("Private methods (such as '{model}.{method}') cannot be called remotely."),
            403,
        )
    }
}

/// Who is calling: full rights, or an internal user without Purchase/Inventory rights.
#[derive(Clone, Debug)]
pub struct DoubleUser {
    pub uid: i64,
    pub login: String,
    pub password: String,
    /// Like Odoo's `res.users.apikeys`: a user may hold several keys (rotation).
    pub api_keys: Vec<String>,
    pub full_rights: bool,
    pub partner_id: i64,
}

impl DoubleUser {
    /// Whether `secret` is one of the user's API keys or the password.
    pub fn accepts(&self, secret: &str) -> bool {
        self.password == secret || self.api_keys.iter().any(|k| k == secret)
    }
}

/// Parent id → child ids, for one many2one field.
type ChildIndex = HashMap<i64, Vec<i64>>;

pub struct Env {
    pub version: u8,
    /// What this Odoo accepts on the wire (its version's recorded fields, its modules).
    pub schema: Schema,
    tables: HashMap<&'static str, Arc<BTreeMap<i64, Record>>>,
    /// (model, many2one field) → parent id → child ids: one2many reads and computed
    /// amounts without scanning whole tables. Built on first use, dropped on any change.
    children: RefCell<HashMap<(String, String), ChildIndex>>,
    next_id: HashMap<&'static str, i64>,
    pub users: Vec<DoubleUser>,
    /// Seconds added to the wall clock (tests move time forward).
    pub clock_offset_seconds: i64,
    /// Model calls carried out, by `model.method` (tests count what a push costs).
    pub calls_by_method: BTreeMap<String, u64>,
    /// Products with a kit-type bill of materials (mrp, which the recorded 19 server has):
    /// Odoo refuses reordering rules for them (mrp's stock_orderpoint.py, `_check_product_kit`,
    /// a ValidationError). Tests set it; the seed has none.
    pub kit_products: std::collections::BTreeSet<i64>,
    /// On-hand stock by (product, warehouse): what `product.product.qty_available` reads in
    /// a `warehouse_id` context (jsonrpc/17), and summed without one. Seeds and tests set it.
    pub on_hand: BTreeMap<(i64, i64), f64>,
}

pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The id of the "Receipts" operation type (`stock.picking.type`) the seed creates.
pub const RECEIPTS_TYPE: i64 = 1;
/// The company orders belong to unless they name another (jsonrpc/14: company 1).
pub const MAIN_COMPANY: i64 = 1;
/// The "Note" message subtype (`mail.mt_note`) as v17/jsonrpc/24c reads it: `[2, "Note"]`.
pub const NOTE_SUBTYPE: i64 = 2;

impl Env {
    pub fn new(version: u8, modules: Modules) -> Self {
        Self {
            version,
            schema: Schema::new(version, modules),
            tables: HashMap::new(),
            children: RefCell::default(),
            next_id: HashMap::new(),
            users: Vec::new(),
            clock_offset_seconds: 0,
            calls_by_method: BTreeMap::new(),
            kit_products: Default::default(),
            on_hand: BTreeMap::new(),
        }
    }

    /// Now, at whole seconds, as Odoo stores `write_date` for comparisons.
    pub fn now(&self) -> String {
        (Utc::now().naive_utc() + chrono::Duration::seconds(self.clock_offset_seconds))
            .format(DATETIME_FORMAT)
            .to_string()
    }

    pub fn table(&self, model: &str) -> impl Iterator<Item = (&i64, &Record)> {
        self.tables.get(model).into_iter().flat_map(|t| t.iter())
    }

    /// The tables, for a change: the children index is rebuilt after it.
    fn tables_mut(&mut self) -> &mut HashMap<&'static str, Arc<BTreeMap<i64, Record>>> {
        self.children.get_mut().clear();
        &mut self.tables
    }

    /// One table, for a change. Tables are shared with the snapshot a write call keeps
    /// until it succeeds, so only a table the call changes is copied.
    fn table_mut(&mut self, model: &str) -> Option<&mut BTreeMap<i64, Record>> {
        self.tables_mut().get_mut(model).map(Arc::make_mut)
    }

    /// Ids of the `model` records whose many2one `field` is `parent`, in id order.
    pub fn children_of(&self, model: &str, field: &str, parent: i64) -> Vec<i64> {
        let mut cache = self.children.borrow_mut();
        let index = cache
            .entry((model.to_string(), field.to_string()))
            .or_insert_with(|| {
                let mut index = ChildIndex::new();
                for (id, rec) in self.table(model) {
                    if let Some(p) = rec.get(field).and_then(Value::as_i64) {
                        index.entry(p).or_default().push(*id);
                    }
                }
                index
            });
        index.get(&parent).cloned().unwrap_or_default()
    }

    pub fn get(&self, model: &str, id: i64) -> Option<&Record> {
        self.tables.get(model).and_then(|t| t.get(&id))
    }

    /// Inserts a record as is (seeding), returning its id.
    pub fn insert(&mut self, model: &'static str, mut rec: Record) -> i64 {
        let next = self.next_id.entry(model).or_insert(1);
        let id = rec.get("id").and_then(Value::as_i64).unwrap_or(*next);
        *next = (*next).max(id + 1);
        rec.insert("id".into(), json!(id));
        let now = self.now();
        rec.entry("create_date").or_insert(json!(now.clone()));
        rec.entry("write_date").or_insert(json!(now));
        Arc::make_mut(self.tables_mut().entry(model).or_default()).insert(id, rec);
        id
    }

    /// Moves every record's `write_date` back by `seconds` (tests of a portal that has been
    /// idle: nothing written lately).
    pub fn backdate_write_dates(&mut self, seconds: i64) {
        for table in self.tables.values_mut() {
            for rec in Arc::make_mut(table).values_mut() {
                let Some(w) = rec.get("write_date").and_then(Value::as_str) else {
                    continue;
                };
                if let Ok(t) = NaiveDateTime::parse_from_str(w, DATETIME_FORMAT) {
                    let earlier = t - chrono::Duration::seconds(seconds);
                    rec.insert(
                        "write_date".into(),
                        json!(earlier.format(DATETIME_FORMAT).to_string()),
                    );
                }
            }
        }
    }

    /// The next record of `model` gets id `next` (seeds that line up with recordings).
    pub fn reserve_ids(&mut self, model: &'static str, next: i64) {
        self.next_id.insert(model, next);
    }

    fn touch(&mut self, model: &str, id: i64) {
        let now = self.now();
        if let Some(rec) = self.table_mut(model).and_then(|t| t.get_mut(&id)) {
            rec.insert("write_date".into(), json!(now));
        }
        // Stored computed fields (date_planned, amounts, receipt status) make a line change
        // rewrite its order too, as in Odoo.
        if model == "purchase.order.line" {
            if let Some(order) = self
                .get(model, id)
                .and_then(|r| r.get("order_id"))
                .and_then(Value::as_i64)
            {
                self.touch("purchase.order", order);
            }
        }
    }

    // ---------------------------------------------------------------- values

    /// A field's value as Odoo would compare it (tests read what "Odoo" holds with this).
    pub fn value(&self, model: &str, id: i64, field: &str) -> Value {
        schema::model(model)
            .map(|m| self.raw(m, id, field))
            .unwrap_or(Value::Bool(false))
    }

    /// Ids of the records of `model` whose `field` equals `value`.
    pub fn ids_where(&self, model: &str, field: &str, value: &Value) -> Vec<i64> {
        let ids: Vec<i64> = self.table(model).map(|(id, _)| *id).collect();
        ids.into_iter()
            .filter(|id| &self.value(model, *id, field) == value)
            .collect()
    }

    /// A field's value reduced for comparisons: many2one as an id or false, x2many as ids.
    pub fn raw(&self, model: &Model, id: i64, field: &str) -> Value {
        let Some(rec) = self.get(model.name, id) else {
            return Value::Bool(false);
        };
        match (model.name, field) {
            (_, "id") => json!(id),
            (_, "display_name") => json!(self.display_name(model.name, id)),
            ("res.partner", "commercial_partner_id") => json!(self.commercial_partner(id)),
            ("purchase.order", "date_planned") => {
                let lines = self.raw(model, id, "order_line");
                let line_model = schema::model("purchase.order.line").expect("schema");
                lines
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        self.raw(line_model, l.as_i64()?, "date_planned")
                            .as_str()
                            .map(String::from)
                    })
                    .min()
                    .map(Value::String)
                    .unwrap_or(Value::Bool(false))
            }
            ("purchase.order", "amount_untaxed" | "amount_total") => {
                let total: f64 = self
                    .children_of("purchase.order.line", "order_id", id)
                    .into_iter()
                    .filter_map(|l| self.get("purchase.order.line", l))
                    .map(|l| num(l, "product_qty") * num(l, "price_unit"))
                    .sum();
                json!((total * 100.0).round() / 100.0)
            }
            // The double models no taxes (no account.tax): the untaxed amount is the total.
            ("purchase.order", "amount_tax") => json!(0.0),
            // Related to the user's partner in Odoo (res.users inherits res.partner).
            ("res.users", "email" | "phone") => rec
                .get("partner_id")
                .and_then(Value::as_i64)
                .and_then(|p| self.get("res.partner", p))
                .and_then(|p| p.get(field).cloned())
                .filter(|v| !v.is_null())
                .unwrap_or(Value::Bool(false)),
            ("purchase.order", "receipt_status") => {
                let states: Vec<&str> = self
                    .children_of("stock.picking", "purchase_id", id)
                    .into_iter()
                    .filter_map(|p| self.get("stock.picking", p))
                    .filter_map(|p| p.get("state").and_then(Value::as_str))
                    .filter(|s| *s != "cancel")
                    .collect();
                if states.is_empty() {
                    Value::Bool(false)
                } else if states.iter().all(|s| *s == "done") {
                    json!("full")
                } else if states.contains(&"done") {
                    json!("partial")
                } else {
                    json!("pending")
                }
            }
            ("purchase.order.line", "price_subtotal") => {
                json!(num(rec, "product_qty") * num(rec, "price_unit"))
            }
            ("purchase.order.line", "partner_id") => rec
                .get("order_id")
                .and_then(Value::as_i64)
                .and_then(|o| self.get("purchase.order", o))
                .and_then(|o| o.get("partner_id").cloned())
                .unwrap_or(Value::Bool(false)),
            _ => match model.field(field) {
                Some(FieldType::One2many(_, "")) => json!([]),
                Some(FieldType::One2many(comodel, inverse)) => Value::Array(
                    self.children_of(comodel, inverse, id)
                        .into_iter()
                        .map(|cid| json!(cid))
                        .collect(),
                ),
                Some(FieldType::Many2many(_)) => {
                    rec.get(field).cloned().unwrap_or_else(|| json!([]))
                }
                Some(FieldType::Boolean) => rec.get(field).cloned().unwrap_or(Value::Bool(false)),
                Some(FieldType::Float) => json!(num(rec, field)),
                Some(FieldType::Integer) => rec.get(field).cloned().unwrap_or(json!(0)),
                _ => match rec.get(field) {
                    None | Some(Value::Null) => Value::Bool(false),
                    Some(v) => v.clone(),
                },
            },
        }
    }

    fn commercial_partner(&self, id: i64) -> i64 {
        let mut current = id;
        for _ in 0..16 {
            let parent = self
                .get("res.partner", current)
                .and_then(|r| r.get("parent_id"))
                .and_then(Value::as_i64);
            match parent {
                Some(p) => current = p,
                None => break,
            }
        }
        current
    }

    pub fn display_name(&self, model: &str, id: i64) -> String {
        let Some(rec) = self.get(model, id) else {
            return String::new();
        };
        let name = rec.get("name").and_then(Value::as_str).unwrap_or_default();
        match model {
            "product.product" => match rec.get("default_code").and_then(Value::as_str) {
                Some(code) => format!("[{code}] {name}"),
                None => name.to_string(),
            },
            "res.partner" => match rec.get("parent_id").and_then(Value::as_i64) {
                Some(parent) => format!("{}, {name}", self.display_name(model, parent)),
                None => name.to_string(),
            },
            "mail.message" | "stock.move.line" => format!("{model},{id}"),
            // "YourCompany: Receipts" (jsonrpc/14: the warehouse's name, then the type's).
            "stock.picking.type" => match rec.get("warehouse_id").and_then(Value::as_i64) {
                Some(w) => format!("{}: {name}", self.display_name("stock.warehouse", w)),
                None => format!("My Company: {name}"),
            },
            // addons/account/models/account_incoterms.py: the code in brackets, then the name.
            "account.incoterms" => match rec.get("code").and_then(Value::as_str) {
                Some(code) => format!("[{code}] {name}"),
                None => name.to_string(),
            },
            _ => name.to_string(),
        }
    }

    /// Renders one record with the given (19.0) field names as Odoo answers a read.
    fn render(&self, model: &Model, id: i64, fields: &[String], load_names: bool) -> Record {
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        for f in fields {
            if f == "id" {
                continue;
            }
            let raw = self.raw(model, id, f);
            let value = match model.field(f) {
                Some(FieldType::Many2one(comodel)) => match raw.as_i64() {
                    Some(target) if load_names => {
                        json!([target, self.display_name(comodel, target)])
                    }
                    Some(target) => json!(target),
                    None => Value::Bool(false),
                },
                _ => raw,
            };
            out.insert(schema::wire_field(self.version, model.name, f), value);
        }
        out
    }

    fn model_for(&self, user: &DoubleUser, name: &str) -> Result<&'static Model, Fault> {
        let model = schema::model(name)
            .filter(|m| self.schema.has_model(m.name))
            .ok_or_else(|| Fault::user_error(format!("Object {name} doesn't exist")))?;
        if model.restricted && !user.full_rights {
            return Err(Fault::access_error(model));
        }
        Ok(model)
    }

    // ---------------------------------------------------------------- methods

    /// Runs `model.method` with named parameters (JSON-RPC positional arguments are named
    /// by the transport first). `ids` is set for record methods.
    pub fn execute(
        &mut self,
        user: &DoubleUser,
        model_name: &str,
        method: &str,
        ids: Option<Vec<i64>>,
        params: Map<String, Value>,
    ) -> Result<Value, Fault> {
        *self
            .calls_by_method
            .entry(format!("{model_name}.{method}"))
            .or_default() += 1;
        // One call is one transaction (json2 README: "one request = one transaction"): a
        // call that fails leaves nothing behind, e.g. no record of a `create` whose later
        // value failed a constraint.
        let saved = (!matches!(
            method,
            "search" | "search_read" | "search_count" | "read" | "fields_get"
        ))
        .then(|| (self.tables.clone(), self.next_id.clone()));
        let result = self.execute_in_transaction(user, model_name, method, ids, params);
        if let (Err(_), Some((tables, next_id))) = (&result, saved) {
            *self.tables_mut() = tables;
            self.next_id = next_id;
        }
        result
    }

    fn execute_in_transaction(
        &mut self,
        user: &DoubleUser,
        model_name: &str,
        method: &str,
        ids: Option<Vec<i64>>,
        params: Map<String, Value>,
    ) -> Result<Value, Fault> {
        if method.starts_with('_') {
            return Err(Fault::private_method(model_name, method));
        }
        if model_name == "res.users" && method == "context_get" {
            return Ok(json!({"lang": "en_US", "tz": "Europe/Brussels", "uid": user.uid}));
        }
        let model = self.model_for(user, model_name)?;
        let allowed: &[&str] = match method {
            "search_read" => &[
                "domain", "fields", "offset", "limit", "order", "context", "load",
            ],
            "search" => &["domain", "offset", "limit", "order", "context"],
            "search_count" => &["domain", "limit", "context"],
            "read" => &["fields", "load", "context"],
            "create" => &["vals_list", "context"],
            "write" => &["vals", "context"],
            "unlink" | "button_confirm" | "button_cancel" | "button_lock" | "button_validate" => {
                &["context"]
            }
            "message_post" => &[
                "body",
                "message_type",
                "subtype_xmlid",
                "context",
                "body_is_html",
            ],
            "fields_get" => &["allfields", "attributes", "context"],
            _ => return Err(Fault::unknown_method(model_name, method)),
        };
        if let Some(bad) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Fault::type_error(format!(
                "BaseModel._read_format() got an unexpected keyword argument '{bad}'"
            )));
        }
        let version = self.version;
        let canon = |f: &str| schema::canonical_field(version, model.name, f);
        match method {
            "search" | "search_read" | "search_count" => {
                let domain =
                    self.parse_domain(model, params.get("domain").unwrap_or(&Value::Null))?;
                let mut found =
                    self.search(model, &domain, params.get("order").and_then(Value::as_str))?;
                if method == "search_count" {
                    return Ok(json!(found.len()));
                }
                let offset = params.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
                found = found.into_iter().skip(offset).collect();
                if let Some(limit) = params.get("limit").and_then(Value::as_u64) {
                    found.truncate(limit as usize);
                }
                if method == "search" {
                    return Ok(json!(found));
                }
                let fields = self.field_list(model, params.get("fields"))?;
                let load = !matches!(
                    params.get("load"),
                    Some(Value::Null) | Some(Value::Bool(false))
                );
                Ok(Value::Array(
                    found
                        .iter()
                        .map(|id| Value::Object(self.render(model, *id, &fields, load)))
                        .collect(),
                ))
            }
            "read" => {
                let ids = ids.unwrap_or_default();
                let fields = self.field_list(model, params.get("fields"))?;
                let load = !matches!(
                    params.get("load"),
                    Some(Value::Null) | Some(Value::Bool(false))
                );
                let warehouse = params
                    .get("context")
                    .and_then(|c| c.get("warehouse_id"))
                    .and_then(Value::as_i64);
                Ok(Value::Array(
                    ids.iter()
                        .filter(|id| self.get(model.name, **id).is_some())
                        .map(|id| {
                            let mut rec = self.render(model, *id, &fields, load);
                            if model.name == "product.product" && rec.contains_key("qty_available")
                            {
                                rec.insert(
                                    "qty_available".into(),
                                    json!(self.on_hand_of(*id, warehouse)),
                                );
                            }
                            Value::Object(rec)
                        })
                        .collect(),
                ))
            }
            "create" => {
                let (vals_list, single) = match params.get("vals_list") {
                    Some(Value::Array(list)) => (list.clone(), false),
                    Some(one @ Value::Object(_)) => (vec![one.clone()], true),
                    _ => {
                        return Err(Fault::type_error(
                            "create() missing 1 required positional argument: 'vals_list'".into(),
                        ))
                    }
                };
                let mut created = Vec::new();
                for vals in vals_list {
                    let vals = canonical_vals(&vals, &canon)?;
                    created.push(self.create(user, model, vals)?);
                }
                Ok(if single {
                    json!(created[0])
                } else {
                    json!(created)
                })
            }
            "write" => {
                let ids = ids.unwrap_or_default();
                let vals = canonical_vals(params.get("vals").unwrap_or(&Value::Null), &canon)?;
                self.require_existing(model, &ids, user.uid)?;
                for id in ids {
                    self.write(user, model, id, &vals)?;
                }
                Ok(Value::Bool(true))
            }
            "unlink" => {
                let ids = ids.unwrap_or_default();
                for id in &ids {
                    if model.name == "purchase.order"
                        && self
                            .raw(model, *id, "state")
                            .as_str()
                            .is_some_and(|s| s != "draft" && s != "cancel")
                    {
                        return Err(Fault::user_error(
                            "In order to delete a purchase order, you must cancel it first.",
                        ));
                    }
                }
                if let Some(t) = self.table_mut(model.name) {
                    for id in ids {
                        t.remove(&id);
                    }
                }
                Ok(Value::Bool(true))
            }
            "button_confirm" | "button_cancel" | "button_lock" | "button_validate" => {
                let ids = ids.unwrap_or_default();
                self.require_existing(model, &ids, user.uid)?;
                match (model.name, method) {
                    ("purchase.order", "button_confirm") => {
                        ids.iter().try_for_each(|id| self.confirm_order(*id))?
                    }
                    ("purchase.order", "button_cancel") => {
                        ids.iter().for_each(|id| self.cancel_order(*id))
                    }
                    ("purchase.order", "button_lock") => {
                        for id in &ids {
                            self.set(model.name, *id, "locked", json!(true));
                        }
                        return Ok(Value::Null);
                    }
                    ("stock.picking", "button_validate") => {
                        ids.iter().for_each(|id| self.validate_picking(*id))
                    }
                    _ => return Err(Fault::unknown_method(model_name, method)),
                }
                Ok(Value::Bool(true))
            }
            "message_post" => {
                // Only models with a chatter (mail.thread) have it: the recorded fields of
                // e.g. stock.warehouse.orderpoint (17 and 19) have no `message_ids`.
                if self.schema.field(model, "message_ids").is_none() {
                    return Err(Fault::unknown_method(model_name, method));
                }
                let ids = ids.unwrap_or_default();
                self.require_existing(model, &ids, user.uid)?;
                let [id] = ids[..] else {
                    return Err(Fault::value_error(format!(
                        "Expected singleton: {model_name}{ids:?}"
                    )));
                };
                let body = params
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let message_type = params
                    .get("message_type")
                    .and_then(Value::as_str)
                    .unwrap_or("notification");
                let now = self.now();
                let mut rec = Map::new();
                for (k, v) in [
                    ("model", json!(model_name)),
                    ("res_id", json!(id)),
                    ("body", json!(body)),
                    ("message_type", json!(message_type)),
                    ("author_id", json!(user.partner_id)),
                    ("date", json!(now)),
                ] {
                    rec.insert(k.into(), v);
                }
                // v17/jsonrpc/24 + 24c: `subtype_xmlid: "mail.mt_note"` gives subtype 2, "Note"
                // (an internal note, not sent to followers such as the vendor).
                if params.get("subtype_xmlid").and_then(Value::as_str) == Some("mail.mt_note") {
                    rec.insert("subtype_id".into(), json!(NOTE_SUBTYPE));
                }
                Ok(json!(self.insert("mail.message", rec)))
            }
            "fields_get" => {
                let mut out = Map::new();
                for name in self.schema.all_fields(model) {
                    let Some(t) = self.schema.field(model, &name) else {
                        continue;
                    };
                    let (ty, relation) = field_type_name(t);
                    let mut f = json!({"string": name, "type": ty, "required": model.required.contains(&name.as_str()), "readonly": false, "store": true});
                    if let Some(r) = relation {
                        f["relation"] = json!(r);
                    }
                    if let FieldType::Selection(opts) = t {
                        f["selection"] =
                            json!(opts.iter().map(|o| json!([o, o])).collect::<Vec<_>>());
                    }
                    out.insert(schema::wire_field(self.version, model.name, &name), f);
                }
                Ok(Value::Object(out))
            }
            _ => Err(Fault::unknown_method(model_name, method)),
        }
    }

    fn parse_domain(&self, model: &Model, domain: &Value) -> Result<Domain, Fault> {
        let version = self.version;
        let canonical =
            canonical_domain(domain, &|f| schema::canonical_field(version, model.name, f));
        domain::parse(&canonical, model.name, &|f| {
            self.schema.field(model, f).is_some()
        })
    }

    fn field_list(&self, model: &Model, fields: Option<&Value>) -> Result<Vec<String>, Fault> {
        let list: Vec<String> = match fields {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => return Ok(self.schema.all_fields(model)),
        };
        list.into_iter()
            .map(|wire| {
                let f = schema::canonical_field(self.version, model.name, &wire);
                if self.schema.field(model, &f).is_some() {
                    Ok(f)
                } else {
                    Err(Fault::value_error(format!(
                        "Invalid field '{wire}' on '{}'",
                        model.name
                    )))
                }
            })
            .collect()
    }

    pub fn search(
        &self,
        model: &Model,
        domain: &Domain,
        order: Option<&str>,
    ) -> Result<Vec<i64>, Fault> {
        // Odoo's active_test: archived records are left out unless the domain names
        // `active` itself (e.g. `["active", "in", [true, false]]`).
        let active_test = !domain.names("active");
        let mut ids: Vec<i64> = self
            .table(model.name)
            .filter(|(id, rec)| {
                let active = rec
                    .get("active")
                    .map(|a| a != &Value::Bool(false))
                    .unwrap_or(true);
                (active || !active_test) && self.matches(model, **id, domain)
            })
            .map(|(id, _)| *id)
            .collect();
        let keys: Vec<(String, bool)> = order
            .unwrap_or("id asc")
            .split(',')
            .filter_map(|part| {
                let mut it = part.split_whitespace();
                let field = schema::canonical_field(self.version, model.name, it.next()?);
                let desc = it.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
                Some((field, desc))
            })
            .collect();
        for (field, _) in &keys {
            if self.schema.field(model, field).is_none() {
                return Err(Fault::value_error(format!(
                    "Invalid field '{field}' on '{}'",
                    model.name
                )));
            }
        }
        ids.sort_by(|a, b| {
            for (field, desc) in &keys {
                let (va, vb) = (self.raw(model, *a, field), self.raw(model, *b, field));
                let ord = cmp_values(&va, &vb);
                let ord = if *desc { ord.reverse() } else { ord };
                if ord.is_ne() {
                    return ord;
                }
            }
            a.cmp(b)
        });
        Ok(ids)
    }

    fn matches(&self, model: &Model, id: i64, domain: &Domain) -> bool {
        match domain {
            Domain::True => true,
            Domain::And(a, b) => self.matches(model, id, a) && self.matches(model, id, b),
            Domain::Or(a, b) => self.matches(model, id, a) || self.matches(model, id, b),
            Domain::Not(a) => !self.matches(model, id, a),
            Domain::Leaf { field, op, value } => {
                if let Some((head, rest)) = field.split_once('.') {
                    // Follow a many2one and test the rest of the path on the target.
                    let Some(FieldType::Many2one(comodel)) = model.field(head) else {
                        return false;
                    };
                    let Some(target) = self.raw(model, id, head).as_i64() else {
                        return false;
                    };
                    let Some(co) = schema::model(comodel) else {
                        return false;
                    };
                    return self.matches(
                        co,
                        target,
                        &Domain::Leaf {
                            field: rest.to_string(),
                            op: op.clone(),
                            value: value.clone(),
                        },
                    );
                }
                let stored = self.raw(model, id, field);
                if op == "child_of" {
                    let wanted: Vec<i64> = match value {
                        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                        v => v.as_i64().into_iter().collect(),
                    };
                    let mut current = stored.as_i64();
                    for _ in 0..16 {
                        let Some(c) = current else { return false };
                        if wanted.contains(&c) {
                            return true;
                        }
                        current = self
                            .get(model.name, c)
                            .and_then(|r| r.get("parent_id"))
                            .and_then(Value::as_i64);
                    }
                    return false;
                }
                domain::compare(&stored, op, value)
            }
        }
    }

    fn require_existing(&self, model: &Model, ids: &[i64], uid: i64) -> Result<(), Fault> {
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| self.get(model.name, *id).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Fault::missing(model.name, &missing, uid))
        }
    }

    /// Sets a record's `write_date` as is (tests of changes within one second).
    pub fn stamp(&mut self, model: &str, id: i64, write_date: &Value) {
        if let Some(rec) = self.table_mut(model).and_then(|t| t.get_mut(&id)) {
            rec.insert("write_date".into(), write_date.clone());
        }
    }

    fn set(&mut self, model: &str, id: i64, field: &str, value: Value) {
        if let Some(rec) = self.table_mut(model).and_then(|t| t.get_mut(&id)) {
            rec.insert(field.into(), value);
        }
        self.touch(model, id);
    }

    /// Checks and converts one value for a field; returns the value to store.
    fn check_value(
        &self,
        user: &DoubleUser,
        model: &Model,
        field: &str,
        value: &Value,
    ) -> Result<Value, Fault> {
        let Some(t) = self.schema.field(model, field) else {
            return Err(Fault::value_error(format!(
                "Invalid field '{field}' on '{}'",
                model.name
            )));
        };
        let empty = matches!(value, Value::Bool(false) | Value::Null);
        match t {
            FieldType::Float | FieldType::Integer if !empty && !value.is_number() => Err(
                Fault::type_error("can't multiply sequence by non-int of type 'float'".into()),
            ),
            FieldType::Datetime if !empty => {
                let s = value.as_str().unwrap_or_default();
                NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).map_err(|_| {
                    Fault::value_error(format!(
                        "time data '{s}' does not match format '%Y-%m-%d %H:%M:%S'"
                    ))
                })?;
                Ok(value.clone())
            }
            FieldType::Selection(options) if !empty && !options.is_empty() => {
                let s = value.as_str().unwrap_or_default();
                if options.contains(&s) {
                    Ok(value.clone())
                } else {
                    Err(Fault::value_error(format!(
                        "Wrong value for {}.{field}: '{s}'",
                        model.name
                    )))
                }
            }
            FieldType::Many2one(comodel) if !empty => {
                let target = value
                    .as_i64()
                    .ok_or_else(|| Fault::type_error(format!("Invalid many2one value {value}")))?;
                if self.get(comodel, target).is_none() {
                    return Err(Fault::missing(comodel, &[target], user.uid));
                }
                Ok(json!(target))
            }
            _ if empty => Ok(Value::Bool(false)),
            _ => Ok(value.clone()),
        }
    }

    fn create(
        &mut self,
        user: &DoubleUser,
        model: &'static Model,
        vals: Map<String, Value>,
    ) -> Result<i64, Fault> {
        for req in model.required {
            if vals
                .get(*req)
                .is_none_or(|v| matches!(v, Value::Bool(false) | Value::Null))
            {
                return Err(Fault::validation_error(format!(
                    "The operation cannot be completed: Missing required value for the field '{req}' ({req}).\nModel: '{}' ({})\n- create/update: a mandatory field is not set.",
                    model.description, model.name
                )));
            }
        }
        let mut rec = Map::new();
        let mut deferred = Vec::new();
        for (k, v) in &vals {
            match self.schema.field(model, k) {
                Some(FieldType::One2many(..)) | Some(FieldType::Many2many(_)) => {
                    deferred.push((k.clone(), v.clone()))
                }
                _ => {
                    rec.insert(k.clone(), self.check_value(user, model, k, v)?);
                }
            }
        }
        self.fill_defaults(model, &mut rec);
        check_orderpoint(model, &rec)?;
        self.check_orderpoint_unique(model, &rec, None)?;
        let id = self.insert(model.name, rec);
        for (k, v) in deferred {
            self.apply_x2many(user, model, id, &k, &v)?;
        }
        Ok(id)
    }

    fn fill_defaults(&self, model: &Model, rec: &mut Record) {
        let now = self.now();
        match model.name {
            "purchase.order" => {
                let next = self
                    .tables
                    .get("purchase.order")
                    .map(|t| t.len())
                    .unwrap_or(0)
                    + 1;
                rec.entry("name").or_insert(json!(format!("P{next:05}")));
                rec.entry("state").or_insert(json!("draft"));
                rec.entry("date_order").or_insert(json!(now));
                rec.entry("currency_id").or_insert(json!(1));
                rec.entry("company_id").or_insert(json!(MAIN_COMPANY));
                if self.schema.modules.stock {
                    // purchase_stock's "Deliver To": the receipts of the company's warehouse.
                    let company = rec.get("company_id").and_then(Value::as_i64);
                    let receipts = self
                        .table("stock.warehouse")
                        .find(|(_, w)| w.get("company_id").and_then(Value::as_i64) == company)
                        .and_then(|(_, w)| w.get("in_type_id").and_then(Value::as_i64))
                        .unwrap_or(RECEIPTS_TYPE);
                    rec.entry("picking_type_id").or_insert(json!(receipts));
                }
            }
            "stock.warehouse.orderpoint" => {
                let next = self.tables.get(model.name).map(|t| t.len()).unwrap_or(0) + 1;
                rec.entry("name").or_insert(json!(format!("OP/{next:05}")));
                rec.entry("trigger").or_insert(json!("auto"));
                rec.entry("product_min_qty").or_insert(json!(0.0));
                rec.entry("product_max_qty").or_insert(json!(0.0));
                rec.entry("active").or_insert(json!(true));
                rec.entry("company_id").or_insert(json!(MAIN_COMPANY));
                let company = rec.get("company_id").and_then(Value::as_i64);
                let warehouse = self
                    .table("stock.warehouse")
                    .find(|(_, w)| w.get("company_id").and_then(Value::as_i64) == company)
                    .map(|(id, _)| *id);
                if let Some(w) = warehouse {
                    rec.entry("warehouse_id").or_insert(json!(w));
                }
                if self.version < 19 {
                    rec.entry("qty_multiple").or_insert(json!(1.0));
                }
            }
            "purchase.order.line" => {
                rec.entry("date_planned").or_insert(json!(now));
                rec.entry("qty_received").or_insert(json!(0.0));
                rec.entry("sequence").or_insert(json!(10));
                if let Some(product) = rec.get("product_id").and_then(Value::as_i64) {
                    let name = self.display_name("product.product", product);
                    rec.entry("name").or_insert(json!(name));
                    let uom = self
                        .get("product.product", product)
                        .and_then(|p| p.get("uom_id").cloned());
                    rec.entry("product_uom_id")
                        .or_insert(uom.unwrap_or(json!(1)));
                }
            }
            _ => {}
        }
    }

    fn write(
        &mut self,
        user: &DoubleUser,
        model: &'static Model,
        id: i64,
        vals: &Map<String, Value>,
    ) -> Result<(), Fault> {
        let mut checked = Vec::new();
        for (k, v) in vals {
            match self.schema.field(model, k) {
                Some(FieldType::One2many(..)) | Some(FieldType::Many2many(_)) => {
                    self.apply_x2many(user, model, id, k, v)?
                }
                _ => checked.push((k.clone(), self.check_value(user, model, k, v)?)),
            }
        }
        if let Some(rec) = self.get(model.name, id) {
            let mut after = rec.clone();
            after.extend(checked.iter().cloned());
            check_orderpoint(model, &after)?;
            self.check_orderpoint_unique(model, &after, Some(id))?;
        }
        if let Some(rec) = self.table_mut(model.name).and_then(|t| t.get_mut(&id)) {
            for (k, v) in checked {
                rec.insert(k, v);
            }
        }
        self.touch(model.name, id);
        Ok(())
    }

    /// x2many commands: (0,0,vals) create, (1,id,vals) update, (2,id) delete, (3,id) unlink,
    /// (4,id) link, (5) clear, (6,0,ids) replace.
    fn apply_x2many(
        &mut self,
        user: &DoubleUser,
        model: &'static Model,
        id: i64,
        field: &str,
        commands: &Value,
    ) -> Result<(), Fault> {
        let t = model.field(field).expect("caller checked the field");
        let Value::Array(commands) = commands else {
            return Err(Fault::value_error(format!(
                "Wrong value for {}.{field}: {commands}",
                model.name
            )));
        };
        for cmd in commands {
            let c = cmd.as_array().cloned().unwrap_or_default();
            let code = c.first().and_then(Value::as_i64).unwrap_or(-1);
            let arg = c.get(1).and_then(Value::as_i64).unwrap_or(0);
            match (t, code) {
                (FieldType::One2many(comodel, inverse), 0) => {
                    let co = schema::model(comodel).expect("schema");
                    let mut vals = canonical_vals(c.get(2).unwrap_or(&Value::Null), &|f| {
                        schema::canonical_field(self.version, comodel, f)
                    })?;
                    vals.insert(inverse.to_string(), json!(id));
                    self.create(user, co, vals)?;
                }
                (FieldType::One2many(comodel, _), 1) => {
                    let co = schema::model(comodel).expect("schema");
                    let vals = canonical_vals(c.get(2).unwrap_or(&Value::Null), &|f| {
                        schema::canonical_field(self.version, comodel, f)
                    })?;
                    self.require_existing(co, &[arg], user.uid)?;
                    self.write(user, co, arg, &vals)?;
                }
                (FieldType::One2many(comodel, _), 2 | 3) => {
                    if let Some(t) = self.table_mut(comodel) {
                        t.remove(&arg);
                    }
                }
                (FieldType::One2many(comodel, inverse), 6) => {
                    let keep: Vec<i64> = c
                        .get(2)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_i64)
                        .collect();
                    let current: Vec<i64> = self
                        .table(comodel)
                        .filter(|(_, r)| r.get(inverse).and_then(Value::as_i64) == Some(id))
                        .map(|(i, _)| *i)
                        .collect();
                    if let Some(t) = self.table_mut(comodel) {
                        for other in current.into_iter().filter(|c| !keep.contains(c)) {
                            t.remove(&other);
                        }
                        for k in &keep {
                            if let Some(r) = t.get_mut(k) {
                                r.insert(inverse.to_string(), json!(id));
                            }
                        }
                    }
                }
                (FieldType::Many2many(_), 6) => {
                    let ids = c.get(2).cloned().unwrap_or(json!([]));
                    if let Some(rec) = self.table_mut(model.name).and_then(|t| t.get_mut(&id)) {
                        rec.insert(field.into(), ids);
                    }
                }
                (FieldType::Many2many(_), 4) => {
                    if let Some(rec) = self.table_mut(model.name).and_then(|t| t.get_mut(&id)) {
                        let list = rec.entry(field).or_insert(json!([]));
                        if let Some(a) = list.as_array_mut() {
                            if !a.contains(&json!(arg)) {
                                a.push(json!(arg));
                            }
                        }
                    }
                }
                (FieldType::Many2many(_), 3) => {
                    if let Some(a) = self
                        .table_mut(model.name)
                        .and_then(|t| t.get_mut(&id))
                        .and_then(|r| r.get_mut(field))
                        .and_then(Value::as_array_mut)
                    {
                        a.retain(|v| v != &json!(arg));
                    }
                }
                _ => {
                    return Err(Fault::value_error(format!(
                        "Invalid x2many command {cmd} for {}.{field}",
                        model.name
                    )))
                }
            }
        }
        self.touch(model.name, id);
        Ok(())
    }

    fn confirm_order(&mut self, id: i64) -> Result<(), Fault> {
        let po = schema::model("purchase.order").expect("schema");
        let state = self.raw(po, id, "state");
        if !matches!(state.as_str(), Some("draft" | "sent")) {
            return Ok(());
        }
        let now = self.now();
        self.set("purchase.order", id, "state", json!("purchase"));
        self.set("purchase.order", id, "date_approve", json!(now));
        if !self.schema.modules.stock {
            // Purchase alone: no receipts.
            return Ok(());
        }
        let partner = self.raw(po, id, "partner_id");
        let origin = self.raw(po, id, "name");
        let scheduled = self.raw(po, id, "date_planned");
        let count = self
            .tables
            .get("stock.picking")
            .map(|t| t.len())
            .unwrap_or(0)
            + 1;
        let mut picking = Map::new();
        for (k, v) in [
            ("name", json!(format!("WH/IN/{count:05}"))),
            ("partner_id", partner),
            ("origin", origin),
            ("scheduled_date", scheduled),
            ("state", json!("assigned")),
            ("purchase_id", json!(id)),
            ("picking_type_code", json!("incoming")),
            ("picking_type_id", self.raw(po, id, "picking_type_id")),
        ] {
            picking.insert(k.into(), v);
        }
        let picking_id = self.insert("stock.picking", picking);
        let lines: Vec<(i64, Record)> = self
            .table("purchase.order.line")
            .filter(|(_, l)| l.get("order_id").and_then(Value::as_i64) == Some(id))
            .map(|(i, l)| (*i, l.clone()))
            .collect();
        for (line_id, line) in lines {
            let Some(product) = line.get("product_id").and_then(Value::as_i64) else {
                continue;
            };
            let qty = num(&line, "product_qty");
            let uom = line.get("product_uom_id").cloned().unwrap_or(json!(1));
            let mut mv = Map::new();
            for (k, v) in [
                ("name", line.get("name").cloned().unwrap_or(json!(false))),
                ("picking_id", json!(picking_id)),
                ("product_id", json!(product)),
                ("product_uom_qty", json!(qty)),
                ("quantity", json!(qty)),
                ("product_uom", uom.clone()),
                ("state", json!("assigned")),
                ("purchase_line_id", json!(line_id)),
                ("picked", json!(false)),
                (
                    "date",
                    line.get("date_planned").cloned().unwrap_or(json!(false)),
                ),
            ] {
                mv.insert(k.into(), v);
            }
            let move_id = self.insert("stock.move", mv);
            let mut ml = Map::new();
            for (k, v) in [
                ("move_id", json!(move_id)),
                ("picking_id", json!(picking_id)),
                ("product_id", json!(product)),
                ("quantity", json!(qty)),
                ("product_uom_id", uom),
                ("picked", json!(false)),
            ] {
                ml.insert(k.into(), v);
            }
            self.insert("stock.move.line", ml);
        }
        Ok(())
    }

    fn cancel_order(&mut self, id: i64) {
        self.set("purchase.order", id, "state", json!("cancel"));
        let pickings: Vec<i64> = self
            .table("stock.picking")
            .filter(|(_, p)| p.get("purchase_id").and_then(Value::as_i64) == Some(id))
            .map(|(i, _)| *i)
            .collect();
        for p in pickings {
            self.set("stock.picking", p, "state", json!("cancel"));
        }
    }

    /// Validates a receipt: what the move lines hold is received; the order lines'
    /// `qty_received` grows (and so their order's `write_date`).
    fn validate_picking(&mut self, id: i64) {
        let now = self.now();
        let moves: Vec<(i64, Record)> = self
            .table("stock.move")
            .filter(|(_, m)| m.get("picking_id").and_then(Value::as_i64) == Some(id))
            .map(|(i, m)| (*i, m.clone()))
            .collect();
        for (move_id, mv) in moves {
            let done: f64 = self
                .table("stock.move.line")
                .filter(|(_, l)| l.get("move_id").and_then(Value::as_i64) == Some(move_id))
                .map(|(_, l)| num(l, "quantity"))
                .sum();
            self.set("stock.move", move_id, "quantity", json!(done));
            self.set("stock.move", move_id, "state", json!("done"));
            if let Some(line) = mv.get("purchase_line_id").and_then(Value::as_i64) {
                let received = self
                    .get("purchase.order.line", line)
                    .map(|l| num(l, "qty_received"))
                    .unwrap_or(0.0);
                self.set(
                    "purchase.order.line",
                    line,
                    "qty_received",
                    json!(received + done),
                );
            }
        }
        self.set("stock.picking", id, "state", json!("done"));
        self.set("stock.picking", id, "date_done", json!(now));
    }
}

impl Env {
    /// A product's stock in one warehouse, or in all of them.
    fn on_hand_of(&self, product: i64, warehouse: Option<i64>) -> f64 {
        self.on_hand
            .iter()
            .filter(|((p, w), _)| *p == product && warehouse.is_none_or(|x| x == *w))
            .map(|(_, q)| q)
            .sum()
    }
}

impl Env {
    /// mrp's kit check (see `kit_products`), then stock_orderpoint.py's
    /// `_product_location_check`, `unique (product_id, location_id,
    /// company_id)`: a SQL constraint, so archived rules count too; Odoo answers its
    /// violation with a ValidationError carrying the constraint's message. Not recorded;
    /// from odoo/odoo addons/stock/models/stock_orderpoint.py (17 and 19 alike). The double
    /// has no stock.location: the warehouse stands for its stock location.
    fn check_orderpoint_unique(
        &self,
        model: &Model,
        rec: &Record,
        id: Option<i64>,
    ) -> Result<(), Fault> {
        if model.name != "stock.warehouse.orderpoint" {
            return Ok(());
        }
        if rec
            .get("product_id")
            .and_then(Value::as_i64)
            .is_some_and(|p| self.kit_products.contains(&p))
        {
            return Err(Fault::validation_error(
                "A product with a kit-type bill of materials can not have a reordering rule."
                    .into(),
            ));
        }
        let key =
            |r: &Record| ["product_id", "warehouse_id", "company_id"].map(|f| r.get(f).cloned());
        let mine = key(rec);
        if self
            .table(model.name)
            .any(|(other, r)| Some(*other) != id && key(r) == mine)
        {
            return Err(Fault::validation_error(
                "A replenishment rule already exists for this product on this location.".into(),
            ));
        }
        Ok(())
    }
}

/// stock_orderpoint.py's `_check_min_max_qty`, with the message jsonrpc/75 recorded.
fn check_orderpoint(model: &Model, rec: &Record) -> Result<(), Fault> {
    if model.name == "stock.warehouse.orderpoint"
        && num(rec, "product_min_qty") > num(rec, "product_max_qty")
    {
        return Err(Fault::validation_error(
            "The minimum quantity must be less than or equal to the maximum quantity.".into(),
        ));
    }
    Ok(())
}

fn num(rec: &Record, field: &str) -> f64 {
    rec.get(field).and_then(Value::as_f64).unwrap_or(0.0)
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => x.cmp(y),
            // Odoo sorts empty values first in ascending order (NULLS FIRST for asc in 19: false last);
            // the portal never relies on it.
            (Value::Bool(false), Value::String(_)) => std::cmp::Ordering::Less,
            (Value::String(_), Value::Bool(false)) => std::cmp::Ordering::Greater,
            _ => std::cmp::Ordering::Equal,
        },
    }
}

fn field_type_name(t: FieldType) -> (&'static str, Option<&'static str>) {
    match t {
        FieldType::Char => ("char", None),
        FieldType::Text => ("text", None),
        FieldType::Integer => ("integer", None),
        FieldType::Float => ("float", None),
        FieldType::Boolean => ("boolean", None),
        FieldType::Date => ("date", None),
        FieldType::Datetime => ("datetime", None),
        FieldType::Selection(_) => ("selection", None),
        FieldType::Many2one(r) => ("many2one", Some(r)),
        FieldType::One2many(r, _) => ("one2many", Some(r)),
        FieldType::Many2many(r) => ("many2many", Some(r)),
    }
}

fn canonical_vals(
    vals: &Value,
    canon: &dyn Fn(&str) -> String,
) -> Result<Map<String, Value>, Fault> {
    match vals {
        Value::Object(m) => Ok(m.iter().map(|(k, v)| (canon(k), v.clone())).collect()),
        other => Err(Fault::value_error(format!(
            "dictionary update sequence element #0 has length 1; 2 is required ({other})"
        ))),
    }
}

fn canonical_domain(domain: &Value, canon: &dyn Fn(&str) -> String) -> Value {
    match domain {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| match item {
                    Value::Array(leaf) if leaf.len() == 3 => {
                        let f = leaf[0].as_str().map(|f| {
                            let mut parts = f.splitn(2, '.');
                            let head = canon(parts.next().unwrap_or_default());
                            match parts.next() {
                                Some(rest) => format!("{head}.{rest}"),
                                None => head,
                            }
                        });
                        json!([
                            f.map(Value::String).unwrap_or(leaf[0].clone()),
                            leaf[1],
                            leaf[2]
                        ])
                    }
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

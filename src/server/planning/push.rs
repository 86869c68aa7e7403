//! Approved demand signals into Odoo (issue 14, part 3). Approving a forecast version
//! derives one signal per item-location (min = safety stock or min, max, and the nearest
//! bucket's quantity as the quantity to order); approving a supply recommendation version,
//! where `MILLRACE_PLANNING_RFQS` allows it, one per row. Each signal is a row in
//! `planning_signals` (identity: version + item-location or source id) and a job of kind
//! [`KIND`] on `jobs` (ordering key: the item-location), both in the approval's transaction.
//!
//! [`Pusher`] runs the jobs in batches: the jobs one claim hands it are gathered and pushed
//! together, with one `search_read` for all their rules (archived ones too: Odoo's
//! uniqueness per product and location counts them, and an archived rule is brought back
//! rather than doubled), one `create` with a value list for the missing ones, `write`s
//! grouped by equal values and one `read` of the new rules' names. When Odoo refuses a
//! batched `create` or `write` for a record's sake (ValidationError, UserError), the same
//! call runs record by record, so only the refused records' signals are dead, with Odoo's
//! message. Rules are created and set on the `manual` trigger, so nothing is ordered behind
//! the buyer's back; equal ones are left alone (and remembered). A rule is the portal's to
//! change only as it last wrote or accepted it (`planning_rules`): one a buyer changed since,
//! or one the portal never wrote, is not overwritten; the signal is a conflict with both
//! values, and a buyer or planner decides ([`decide`]). Reordering rules get no chatter note
//! (no mail.thread on Odoo 17 or 19); the signal names the rule. Supply signals become draft
//! RFQs whose `origin` is the signal's reference and whose operation type is the receipts of
//! the signal's warehouse, each with an internal note (`message_post`, one call per RFQ); an
//! RFQ with that origin already in Odoo is the same one.
//!
//! Not here: the trace page (it reads [`signals_for_version`] and [`signals_for_order`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

use super::PlanningError;
use crate::model::planning_push::SignalView;
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::Quantity;
use crate::server::db::{self, Db, Tx};
use crate::server::jobs::{self, Handler, Job, Outcome};
use crate::server::odoo::error::{OdooError, Retry, ServerErrorKind};
use crate::server::odoo::fields::{
    Optional, ORDERPOINT, PARTNER, PRODUCT, PURCHASE_ORDER, SUPPLIER_INFO, WAREHOUSE,
};
use crate::server::odoo::value::{decimal, many2one, text};
use crate::server::odoo::{OdooClient, OdooLink};

/// The job kind of a signal's push.
pub const KIND: &str = "odoo.planning_push";

/// How long the first job of a claim waits for the others before pushing them together.
const GATHER: Duration = Duration::from_millis(40);

// ---------------------------------------------------------------- deriving signals

/// A quantity as Odoo keeps it on a reordering rule: its float fields have the "Product
/// Unit of Measure" precision (2 decimals by default), so Odoo rounds what it is given. The
/// signal carries the rounded value, so what the portal writes and remembers is what Odoo
/// reads back, and the next version does not mistake the rounding for a buyer's change.
fn as_odoo_keeps(q: &str) -> String {
    q.parse::<Decimal>()
        .map(|d| {
            // Odoo's float_round rounds half away from zero.
            d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .normalize()
                .to_string()
        })
        .unwrap_or_else(|_| q.to_string())
}

/// A bucket of a forecast version as its signals are derived from it.
#[derive(sqlx::FromRow)]
struct ForecastBucket {
    item_code: String,
    location_code: String,
    product_odoo_id: i64,
    warehouse_code: String,
    quantity: Quantity,
    safety_stock: Option<Quantity>,
    min_qty: Option<Quantity>,
    max_qty: Option<Quantity>,
    bucket_start: String,
}

/// A supply recommendation as its request for quotation is derived from it.
#[derive(sqlx::FromRow)]
struct SupplyLine {
    source_id: String,
    item_code: String,
    location_code: String,
    product_odoo_id: i64,
    warehouse_code: String,
    quantity: Quantity,
    need_by: String,
    vendor: Option<String>,
}

/// Derives the signals of the version `import_id` just approved and queues their jobs, in
/// the approval's transaction. A signal that exists already (a doubled approval) is kept
/// as it is. Supply versions give signals only when `rfqs` is on. Returns how many were new.
pub async fn derive(
    tx: &mut Tx<'_>,
    import_id: i64,
    kind: &str,
    version: i64,
    correlation_id: &str,
    rfqs: bool,
) -> Result<usize, sqlx::Error> {
    let warehouses: HashMap<String, Option<i64>> = sqlx::query_as::<_, (String, Option<i64>)>(
        "SELECT location_code, warehouse_odoo_id FROM planning_locations",
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let mut signals: Vec<NewSignal> = Vec::new();
    if kind == "forecast" {
        // Planners' overrides that still apply win over the imported quantity.
        let overrides: HashMap<(String, String, String), String> =
            sqlx::query_as::<_, (String, String, String, String)>(
                "SELECT item_code, location_code, bucket_start, quantity FROM planning_overrides WHERE until >= $1",
            )
            .bind(chrono::Utc::now().date_naive().to_string())
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|(i, l, b, q)| ((i, l, b), q))
            .collect();
        // Streamed: a version of a million rows keeps one row per item-location in memory.
        let mut rows = sqlx::query_as::<_, ForecastBucket>(
                "SELECT item_code, location_code, product_odoo_id, warehouse_code, quantity, safety_stock, min_qty, max_qty, bucket_start
                 FROM planning_forecast_rows WHERE import_id = $1
                 ORDER BY item_code, location_code, bucket_start, CASE kind WHEN 'override' THEN 0 WHEN 'consensus' THEN 1 ELSE 2 END",
            )
            .bind(import_id)
            .fetch(&mut **tx);
        let mut nearest = Vec::new();
        let mut last: Option<(String, String)> = None;
        while let Some(row) = futures::TryStreamExt::try_next(&mut rows).await? {
            // The nearest bucket of each item-location speaks for it.
            if last.as_ref() == Some(&(row.item_code.clone(), row.location_code.clone())) {
                continue;
            }
            last = Some((row.item_code.clone(), row.location_code.clone()));
            nearest.push(row);
        }
        drop(rows);
        for ForecastBucket {
            item_code: item,
            location_code: location,
            product_odoo_id: product,
            warehouse_code: warehouse,
            quantity,
            safety_stock: safety,
            min_qty: min,
            max_qty: max,
            bucket_start: bucket,
        } in nearest
        {
            // A decimal's text keeps its scale: these are the stored quantities.
            let quantity = overrides
                .get(&(item.clone(), location.clone(), bucket))
                .cloned()
                .unwrap_or_else(|| quantity.get().to_string());
            let min = safety
                .or(min)
                .map_or_else(|| "0".into(), |q| q.get().to_string());
            let max = max.map_or_else(|| min.clone(), |q| q.get().to_string());
            signals.push(NewSignal {
                kind: "rule",
                key: format!("{item}@{location}"),
                warehouse_odoo_id: warehouses.get(&location).copied().flatten(),
                item,
                location,
                product,
                warehouse,
                min: Some(as_odoo_keeps(&min)),
                max: Some(as_odoo_keeps(&max)),
                quantity: as_odoo_keeps(&quantity),
                need_by: None,
                vendor: None,
            });
        }
    } else if rfqs {
        let rows: Vec<SupplyLine> = sqlx::query_as(
            "SELECT source_id, item_code, location_code, product_odoo_id, warehouse_code, quantity, need_by, vendor
             FROM planning_supply_rows WHERE import_id = $1 ORDER BY item_code, location_code, need_by, source_id",
        )
        .bind(import_id)
        .fetch_all(&mut **tx)
        .await?;
        for SupplyLine {
            source_id: source,
            item_code: item,
            location_code: location,
            product_odoo_id: product,
            warehouse_code: warehouse,
            quantity,
            need_by,
            vendor,
        } in rows
        {
            let quantity = quantity.get().to_string();
            signals.push(NewSignal {
                kind: "rfq",
                key: format!("source:{source}"),
                warehouse_odoo_id: warehouses.get(&location).copied().flatten(),
                item,
                location,
                product,
                warehouse,
                min: None,
                max: None,
                quantity,
                need_by: Some(need_by),
                vendor: vendor.filter(|v| !v.trim().is_empty()),
            });
        }
    }
    let prefix = if kind == "forecast" {
        format!("SIG-{version}")
    } else {
        format!("SIG-S{version}")
    };
    let now = db::now();
    // The pushes are ordered per item-location across kinds (`queue`): their job ids must
    // follow commit order, so the approval that queues first commits first.
    db::feed(tx).await?;
    let mut new = 0;
    for (n, s) in signals.iter().enumerate() {
        let inserted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO planning_signals (reference, import_id, kind, signal_key, item_code, location_code, product_odoo_id, warehouse_code, warehouse_odoo_id, min_qty, max_qty, quantity, need_by, vendor, correlation_id, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'pending', $16)
             ON CONFLICT (import_id, signal_key) DO NOTHING RETURNING id",
        )
        .bind(format!("{prefix}-{}", n + 1))
        .bind(import_id)
        .bind(s.kind)
        .bind(&s.key)
        .bind(&s.item)
        .bind(&s.location)
        .bind(s.product)
        .bind(&s.warehouse)
        .bind(s.warehouse_odoo_id)
        .bind(&s.min)
        .bind(&s.max)
        .bind(&s.quantity)
        .bind(&s.need_by)
        .bind(&s.vendor)
        .bind(correlation_id)
        .bind(&now)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((id,)) = inserted {
            queue(tx, id, &s.item, &s.location, correlation_id).await?;
            new += 1;
        }
    }
    Ok(new)
}

struct NewSignal {
    kind: &'static str,
    key: String,
    item: String,
    location: String,
    product: i64,
    warehouse: String,
    warehouse_odoo_id: Option<i64>,
    min: Option<String>,
    max: Option<String>,
    quantity: String,
    need_by: Option<String>,
    vendor: Option<String>,
}

/// Queues a signal's push, ordered after the earlier pushes of its item-location.
async fn queue(
    tx: &mut Tx<'_>,
    signal_id: i64,
    item: &str,
    location: &str,
    correlation_id: &str,
) -> Result<(), sqlx::Error> {
    let job = jobs::enqueue(
        tx,
        KIND,
        &format!("planning:{item}@{location}"),
        &json!({ "signal": signal_id }).to_string(),
        Some(correlation_id),
    )
    .await?;
    sqlx::query("UPDATE planning_signals SET job_id = $1 WHERE id = $2")
        .bind(job)
        .bind(signal_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- the job handler

/// Runs [`KIND`] jobs, gathering those of one claim into one push.
pub struct Pusher {
    db: Db,
    odoo: OdooLink,
    gathered: Mutex<Vec<(Job, oneshot::Sender<Outcome>)>>,
}

impl Pusher {
    pub fn new(db: Db, odoo: OdooLink) -> Arc<Self> {
        Arc::new(Self {
            db,
            odoo,
            gathered: Mutex::new(Vec::new()),
        })
    }

    async fn run_gathered(&self, job: &Job) -> Outcome {
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut g = self.gathered.lock().unwrap_or_else(|e| e.into_inner());
            g.push((job.clone(), tx));
            g.len() == 1
        };
        if first {
            // The worker starts a claim's jobs together: the others arrive meanwhile.
            tokio::time::sleep(GATHER).await;
            let batch: Vec<(Job, oneshot::Sender<Outcome>)> =
                std::mem::take(&mut *self.gathered.lock().unwrap_or_else(|e| e.into_inner()));
            let jobs: Vec<&Job> = batch.iter().map(|(j, _)| j).collect();
            let mut outcomes = match self.push(&jobs).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(error = %e, "planning push could not read or record its signals");
                    HashMap::new()
                }
            };
            for (j, reply) in batch {
                let o = outcomes.remove(&j.id).unwrap_or_else(|| Outcome::Retry {
                    why: "the push's bookkeeping failed".into(),
                    after: None,
                });
                let _ = reply.send(o);
            }
        }
        rx.await.unwrap_or_else(|_| Outcome::Retry {
            why: "the batch this push was part of stopped".into(),
            after: None,
        })
    }

    /// Pushes the signals of `jobs`; the outcome of each job.
    async fn push(&self, jobs: &[&Job]) -> Result<HashMap<i64, Outcome>, sqlx::Error> {
        let mut out = HashMap::new();
        let mut wanted: Vec<(i64, i64)> = Vec::new();
        for j in jobs {
            match serde_json::from_str::<Value>(&j.payload)
                .ok()
                .and_then(|v| v.get("signal").and_then(Value::as_i64))
            {
                Some(s) => wanted.push((j.id, s)),
                None => {
                    out.insert(
                        j.id,
                        Outcome::Dead {
                            why: "unreadable planning push".into(),
                        },
                    );
                }
            }
        }
        let ids: Vec<i64> = wanted.iter().map(|w| w.1).collect();
        let signals = load(&self.db, &ids).await?;
        let mut todo: Vec<(i64, Signal)> = Vec::new();
        for (job, id) in wanted {
            match signals.get(&id) {
                None => {
                    out.insert(
                        job,
                        Outcome::Dead {
                            why: format!("signal {id} does not exist"),
                        },
                    );
                }
                // Pushed already (a replay after success, a doubled job): nothing to do.
                Some(s) if s.state != "pending" => {
                    out.insert(job, Outcome::Done);
                }
                Some(s) => todo.push((job, s.clone())),
            }
        }
        if todo.is_empty() {
            return Ok(out);
        }
        let Some(odoo) = self.odoo.client() else {
            for (job, _) in todo {
                out.insert(job, Outcome::NotNow(Duration::from_secs(5)));
            }
            return Ok(out);
        };
        let (rules, rfqs): (Vec<_>, Vec<_>) = todo.into_iter().partition(|(_, s)| s.kind == "rule");
        let known = known_rules(&self.db, &rules).await?;
        let mut effects: Vec<(i64, Effect)> = Vec::new();
        for (part, result) in [
            (&rules, push_rules(&odoo, &rules, &known).await),
            (&rfqs, push_rfqs(&odoo, &rfqs).await),
        ] {
            match result {
                Ok(e) => effects.extend(e),
                Err(e) => {
                    let outcome = |e: &OdooError| match e.retry() {
                        Retry::Transient => Outcome::Retry {
                            why: e.to_string(),
                            after: match e {
                                OdooError::RateLimited { retry_after } => *retry_after,
                                _ => None,
                            },
                        },
                        Retry::Permanent => Outcome::Dead { why: e.to_string() },
                    };
                    for (job, _) in part.iter() {
                        out.insert(*job, outcome(&e));
                    }
                }
            }
        }
        record(&self.db, &effects).await?;
        let by_signal: HashMap<i64, i64> = rules
            .iter()
            .chain(rfqs.iter())
            .map(|(job, s)| (s.id, *job))
            .collect();
        for (signal, effect) in effects {
            let Some(job) = by_signal.get(&signal) else {
                continue;
            };
            out.insert(
                *job,
                match effect {
                    Effect::Later => Outcome::NotNow(Duration::from_secs(1)),
                    Effect::Refused(why) => Outcome::Dead { why },
                    _ => Outcome::Done,
                },
            );
        }
        Ok(out)
    }
}

impl Handler for Pusher {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(self.run_gathered(job))
    }

    /// A claim's signals go to Odoo as one batch (one search, one create, one read): 500
    /// make the push cost under one call per 100 records.
    fn claim_size(&self) -> usize {
        crate::server::jobs::MAX_CLAIM
    }
}

#[derive(Clone, Debug)]
struct Signal {
    id: i64,
    reference: String,
    kind: String,
    product: i64,
    warehouse_code: String,
    warehouse_odoo_id: Option<i64>,
    min: Decimal,
    max: Decimal,
    quantity: Decimal,
    need_by: Option<String>,
    vendor: Option<String>,
    correlation_id: String,
    state: String,
    decision: Option<String>,
}

/// A demand signal as stored, as its push reads it.
#[derive(sqlx::FromRow)]
struct SignalRow {
    id: i64,
    reference: String,
    kind: String,
    product_odoo_id: i64,
    warehouse_code: String,
    warehouse_odoo_id: Option<i64>,
    min_qty: Option<Quantity>,
    max_qty: Option<Quantity>,
    quantity: Option<Quantity>,
    need_by: Option<String>,
    vendor: Option<String>,
    correlation_id: String,
    state: String,
    decision: Option<String>,
}

async fn load(db: &Db, ids: &[i64]) -> Result<HashMap<i64, Signal>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut args = Vec::new();
    let list: Vec<String> = ids
        .iter()
        .map(|i| db::arg(&mut args, db::Arg::Int(*i)))
        .collect();
    let rows: Vec<SignalRow> = db::bind_args(
            sqlx::query_as(&format!(
                "SELECT id, reference, kind, product_odoo_id, warehouse_code, warehouse_odoo_id, min_qty, max_qty, quantity, need_by, vendor, correlation_id, state, decision
                 FROM planning_signals WHERE id IN ({})",
                list.join(", ")
            )),
            &args,
        )
        .fetch_all(db)
        .await?;
    // A quantity not set is a zero; one that does not parse failed the read.
    let num = |q: Option<Quantity>| q.map(Quantity::get).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Signal {
                    id: r.id,
                    reference: r.reference,
                    kind: r.kind,
                    product: r.product_odoo_id,
                    warehouse_code: r.warehouse_code,
                    warehouse_odoo_id: r.warehouse_odoo_id,
                    min: num(r.min_qty),
                    max: num(r.max_qty),
                    quantity: num(r.quantity),
                    need_by: r.need_by,
                    vendor: r.vendor,
                    correlation_id: r.correlation_id,
                    state: r.state,
                    decision: r.decision,
                },
            )
        })
        .collect())
}

/// What the portal last wrote to or accepted of a rule.
#[derive(Clone, Debug, PartialEq)]
struct RuleValues {
    min: Decimal,
    max: Decimal,
    trigger: String,
    manual: Option<Decimal>,
}

impl RuleValues {
    /// Reads back what [`RuleValues::json`] stored (Odoo's values of a conflict): a missing
    /// or unreadable min, max or trigger is a bad stored value, never a zero.
    fn from_json(stored: &str) -> Result<RuleValues, String> {
        let v: Value = serde_json::from_str(stored).map_err(|e| format!("{e} in {stored}"))?;
        let d = |k: &str| -> Result<Option<Decimal>, String> {
            match v.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => s
                    .parse::<Decimal>()
                    .map(Some)
                    .map_err(|_| format!("{k} {s:?} is not a number in {stored}")),
                Some(other) => Err(format!("{k} {other} is not a number in {stored}")),
            }
        };
        let needed = |k: &str| d(k)?.ok_or_else(|| format!("no {k} in {stored}"));
        Ok(RuleValues {
            min: needed("min")?,
            max: needed("max")?,
            trigger: v
                .get("trigger")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("no trigger in {stored}"))?
                .to_string(),
            manual: d("manual")?,
        })
    }

    fn json(&self) -> String {
        json!({
            "min": self.min.normalize().to_string(),
            "max": self.max.normalize().to_string(),
            "trigger": self.trigger,
            "manual": self.manual.map(|m| m.normalize().to_string()),
        })
        .to_string()
    }
}

/// (product, warehouse id) → (rule id, values) the portal last wrote or accepted.
type Known = HashMap<(i64, i64), (i64, RuleValues)>;

/// A reordering rule the portal last wrote or accepted, with its values.
#[derive(sqlx::FromRow)]
struct RuleRow {
    product_odoo_id: i64,
    warehouse_odoo_id: i64,
    rule_odoo_id: i64,
    min_qty: Quantity,
    max_qty: Quantity,
    trigger_mode: String,
    manual_qty: Option<Quantity>,
}

async fn known_rules(db: &Db, rules: &[(i64, Signal)]) -> Result<Known, sqlx::Error> {
    if rules.is_empty() {
        return Ok(HashMap::new());
    }
    let mut args = Vec::new();
    let list: Vec<String> = rules
        .iter()
        .map(|(_, s)| db::arg(&mut args, db::Arg::Int(s.product)))
        .collect();
    let rows: Vec<RuleRow> = db::bind_args(
        sqlx::query_as(&format!(
            "SELECT product_odoo_id, warehouse_odoo_id, rule_odoo_id, min_qty, max_qty, trigger_mode, manual_qty FROM planning_rules WHERE product_odoo_id IN ({})",
            list.join(", ")
        )),
        &args,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.product_odoo_id, r.warehouse_odoo_id),
                (
                    r.rule_odoo_id,
                    RuleValues {
                        min: r.min_qty.get(),
                        max: r.max_qty.get(),
                        trigger: r.trigger_mode,
                        manual: r.manual_qty.map(Quantity::get),
                    },
                ),
            )
        })
        .collect())
}

/// What a push did for one signal.
#[derive(Debug)]
enum Effect {
    Applied {
        model: &'static str,
        id: i64,
        name: Option<String>,
        rule: Option<(i64, i64, RuleValues)>,
    },
    Unchanged {
        id: i64,
        name: Option<String>,
        rule: (i64, i64, RuleValues),
    },
    Conflict {
        id: i64,
        name: Option<String>,
        odoo: RuleValues,
        warehouse: i64,
    },
    /// Another signal of the batch aims at the same rule: after this batch.
    Later,
    /// Never possible as it is (the reason is the dead letter's).
    Refused(String),
}

fn float(d: Decimal) -> Value {
    json!(d.normalize().to_string().parse::<f64>().unwrap_or_default())
}

fn note(s: &Signal, what: &str) -> String {
    format!(
        "{what} from the approved demand signal {} in the supplier portal. [Millrace ref {}]",
        s.reference, s.correlation_id
    )
}

/// Whether Odoo refused a call for the records' sake (a constraint, a business rule): the
/// same call record by record tells which records it was.
fn refused_for_records(e: &OdooError) -> bool {
    matches!(
        e.kind(),
        Some(ServerErrorKind::Validation | ServerErrorKind::User)
    )
}

/// What Odoo knows of the signals' warehouses: the ids of those whose location mapping names
/// only a code, and (when asked for, and this Odoo has them) each warehouse's incoming
/// operation type. One `search_read` for all of them, none when nothing is to be looked up.
#[derive(Default)]
struct Warehouses {
    by_code: HashMap<String, i64>,
    receipts: HashMap<i64, i64>,
}

impl Warehouses {
    fn id_of(&self, s: &Signal) -> Option<i64> {
        s.warehouse_odoo_id
            .or_else(|| self.by_code.get(&s.warehouse_code).copied())
    }
}

async fn warehouses(
    odoo: &OdooClient,
    signals: &[(i64, Signal)],
    receipts: bool,
) -> Result<Warehouses, OdooError> {
    let receipts = receipts && odoo.caps.has(WAREHOUSE, "in_type_id");
    let mut codes: Vec<&str> = Vec::new();
    let mut ids: Vec<i64> = Vec::new();
    for (_, s) in signals {
        match s.warehouse_odoo_id {
            Some(id) => ids.push(id),
            None => codes.push(s.warehouse_code.as_str()),
        }
    }
    codes.sort_unstable();
    codes.dedup();
    ids.sort_unstable();
    ids.dedup();
    if codes.is_empty() && !(receipts && !ids.is_empty()) {
        return Ok(Warehouses::default());
    }
    let mut fields = vec!["code"];
    let domain = if receipts {
        fields.push("in_type_id");
        json!(["|", ["code", "in", codes], ["id", "in", ids]])
    } else {
        json!([["code", "in", codes]])
    };
    let mut out = Warehouses::default();
    for w in odoo
        .search_read(WAREHOUSE, domain, &fields, Default::default())
        .await?
    {
        let Some(id) = w.get("id").and_then(Value::as_i64) else {
            continue;
        };
        if let Some(code) = text(w.get("code")) {
            out.by_code.insert(code, id);
        }
        if let Some((t, _)) = many2one(w.get("in_type_id")) {
            out.receipts.insert(id, t);
        }
    }
    Ok(out)
}

/// An update of a rule: the signal, warehouse, rule id and name, the values.
type Write<'a> = (&'a Signal, i64, i64, Option<String>, RuleValues);

/// A rule Odoo has for an item-location.
struct Found {
    id: i64,
    name: Option<String>,
    values: RuleValues,
    active: bool,
}

fn rule_vals(t: &RuleValues, reactivate: bool) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("product_min_qty".into(), float(t.min));
    v.insert("product_max_qty".into(), float(t.max));
    v.insert("trigger".into(), json!(t.trigger));
    if let Some(m) = t.manual {
        v.insert("qty_to_order_manual".into(), float(m));
    }
    if reactivate {
        v.insert("active".into(), json!(true));
    }
    v
}

async fn push_rules(
    odoo: &OdooClient,
    signals: &[(i64, Signal)],
    known: &Known,
) -> Result<Vec<(i64, Effect)>, OdooError> {
    let mut effects = Vec::new();
    if signals.is_empty() {
        return Ok(effects);
    }
    if !odoo.caps.supports(Optional::Replenishment) {
        for (_, s) in signals {
            effects.push((
                s.id,
                Effect::Refused(
                    "this Odoo has no reordering rules (the Inventory app is not installed)".into(),
                ),
            ));
        }
        return Ok(effects);
    }
    let manual_field = odoo.caps.has(ORDERPOINT, "qty_to_order_manual");
    let codes = warehouses(odoo, signals, false).await?;
    // Each signal's target rule; the checks Odoo would refuse the whole batch for first.
    let mut targets: Vec<(&Signal, i64, RuleValues)> = Vec::new();
    let mut seen: std::collections::HashSet<(i64, i64)> = Default::default();
    for (_, s) in signals {
        let Some(w) = codes.id_of(s) else {
            effects.push((
                s.id,
                Effect::Refused(format!(
                    "Odoo has no warehouse with the code {}",
                    s.warehouse_code
                )),
            ));
            continue;
        };
        if s.min.is_sign_negative() || s.min > s.max {
            effects.push((
                s.id,
                Effect::Refused(format!(
                    "the minimum {} is above the maximum {} (Odoo refuses such a rule)",
                    s.min.normalize(),
                    s.max.normalize()
                )),
            ));
            continue;
        }
        if !seen.insert((s.product, w)) {
            effects.push((s.id, Effect::Later));
            continue;
        }
        targets.push((
            s,
            w,
            RuleValues {
                min: s.min,
                max: s.max,
                trigger: "manual".into(),
                manual: manual_field.then_some(s.quantity),
            },
        ));
    }
    if targets.is_empty() {
        return Ok(effects);
    }
    let products: Vec<i64> = targets.iter().map(|t| t.0.product).collect();
    let whs: Vec<i64> = targets.iter().map(|t| t.1).collect();
    let mut fields = vec![
        "name",
        "product_id",
        "warehouse_id",
        "product_min_qty",
        "product_max_qty",
        "trigger",
        "active",
    ];
    if manual_field {
        fields.push("qty_to_order_manual");
    }
    // Archived rules too: Odoo's uniqueness of a rule per product and location counts them,
    // so a new one where an archived one exists would be refused. A domain on `active`
    // turns Odoo's default filter on active records off.
    let existing = odoo
        .search_read(
            ORDERPOINT,
            json!([
                ["product_id", "in", products],
                ["warehouse_id", "in", whs],
                ["active", "in", [true, false]]
            ]),
            &fields,
            crate::server::odoo::client::SearchOptions {
                order: Some("id asc"),
                ..Default::default()
            },
        )
        .await?;
    let mut rules: HashMap<(i64, i64), Found> = HashMap::new();
    for r in &existing {
        let (Some(id), Some(p), Some(w)) = (
            r.get("id").and_then(Value::as_i64),
            many2one(r.get("product_id")),
            many2one(r.get("warehouse_id")),
        ) else {
            continue;
        };
        let found = Found {
            id,
            name: text(r.get("name")),
            values: RuleValues {
                min: decimal(r.get("product_min_qty")),
                max: decimal(r.get("product_max_qty")),
                trigger: text(r.get("trigger")).unwrap_or_default(),
                manual: manual_field.then(|| decimal(r.get("qty_to_order_manual"))),
            },
            active: r.get("active") != Some(&Value::Bool(false)),
        };
        // The active rule speaks for the item-location; else the oldest archived one.
        match rules.get(&(p.0, w.0)) {
            Some(f) if f.active || !found.active => {}
            _ => {
                rules.insert((p.0, w.0), found);
            }
        }
    }
    let mut creates: Vec<(&Signal, i64, RuleValues)> = Vec::new();
    // vals (as JSON text) → the rules to write them to.
    let mut writes: BTreeMap<String, Vec<Write>> = BTreeMap::new();
    for (s, w, target) in targets {
        let Some(f) = rules.get(&(s.product, w)) else {
            creates.push((s, w, target));
            continue;
        };
        if !f.active {
            // Archived (by a buyer, or by Odoo): brought back with the signal's values.
            writes
                .entry(Value::Object(rule_vals(&target, true)).to_string())
                .or_default()
                .push((s, w, f.id, f.name.clone(), target));
            continue;
        }
        if f.values == target {
            effects.push((
                s.id,
                Effect::Unchanged {
                    id: f.id,
                    name: f.name.clone(),
                    rule: (s.product, w, target),
                },
            ));
            continue;
        }
        // Only a rule as the portal last left it is the portal's to change: one a buyer
        // changed since, or one the portal never wrote, is for a buyer to decide.
        let as_we_left_it = known
            .get(&(s.product, w))
            .is_some_and(|(rid, last)| *rid == f.id && *last == f.values);
        if as_we_left_it || s.decision.as_deref() == Some("apply") {
            writes
                .entry(Value::Object(rule_vals(&target, false)).to_string())
                .or_default()
                .push((s, w, f.id, f.name.clone(), target));
        } else {
            effects.push((
                s.id,
                Effect::Conflict {
                    id: f.id,
                    name: f.name.clone(),
                    odoo: f.values.clone(),
                    warehouse: w,
                },
            ));
        }
    }
    for (vals, group) in &writes {
        let ids: Vec<i64> = group.iter().map(|g| g.2).collect();
        let vals: Value = serde_json::from_str(vals).unwrap_or(Value::Null);
        let refused: HashMap<i64, String> = match odoo.write(ORDERPOINT, &ids, vals.clone()).await {
            Ok(()) => HashMap::new(),
            // One bad rule must not hold the others back: each on its own.
            Err(e) if refused_for_records(&e) && ids.len() > 1 => {
                let mut refused = HashMap::new();
                for id in &ids {
                    match odoo.write(ORDERPOINT, &[*id], vals.clone()).await {
                        Ok(()) => {}
                        Err(e) if refused_for_records(&e) => {
                            refused.insert(*id, e.to_string());
                        }
                        Err(e) => return Err(e),
                    }
                }
                refused
            }
            Err(e) if refused_for_records(&e) => ids.iter().map(|i| (*i, e.to_string())).collect(),
            Err(e) => return Err(e),
        };
        for (s, w, id, name, target) in group {
            effects.push((
                s.id,
                match refused.get(id) {
                    Some(why) => Effect::Refused(why.clone()),
                    None => Effect::Applied {
                        model: ORDERPOINT,
                        id: *id,
                        name: name.clone(),
                        rule: Some((s.product, *w, target.clone())),
                    },
                },
            ));
        }
    }
    if !creates.is_empty() {
        let vals: Vec<Value> = creates
            .iter()
            .map(|(s, w, t)| {
                let mut v = rule_vals(t, false);
                v.insert("product_id".into(), json!(s.product));
                v.insert("warehouse_id".into(), json!(w));
                Value::Object(v)
            })
            .collect();
        let made: Vec<Result<i64, String>> = match odoo.create_many(ORDERPOINT, vals.clone()).await
        {
            Ok(ids) => ids.into_iter().map(Ok).collect(),
            Err(e) if refused_for_records(&e) => {
                let mut made = Vec::new();
                for v in vals {
                    made.push(match odoo.create(ORDERPOINT, v).await {
                        Ok(id) => Ok(id),
                        Err(e) if refused_for_records(&e) => Err(e.to_string()),
                        Err(e) => return Err(e),
                    });
                }
                made
            }
            Err(e) => return Err(e),
        };
        let ids: Vec<i64> = made
            .iter()
            .filter_map(|m| m.as_ref().ok().copied())
            .collect();
        // Their names, which Odoo's replenishment writes as the origin of what it orders.
        let names: HashMap<i64, String> = if ids.is_empty() {
            HashMap::new()
        } else {
            odoo.read(ORDERPOINT, &ids, &["name"])
                .await?
                .iter()
                .filter_map(|r| Some((r.get("id")?.as_i64()?, text(r.get("name"))?)))
                .collect()
        };
        for ((s, w, t), made) in creates.into_iter().zip(made) {
            effects.push((
                s.id,
                match made {
                    Ok(id) => Effect::Applied {
                        model: ORDERPOINT,
                        id,
                        name: names.get(&id).cloned(),
                        rule: Some((s.product, w, t)),
                    },
                    Err(why) => Effect::Refused(why),
                },
            ));
        }
    }
    // No chatter note: a reordering rule is no mail.thread on Odoo 17 or 19 (its recorded
    // fields have no `message_ids`); the signal names the rule instead (`odoo_name`).
    Ok(effects)
}

async fn push_rfqs(
    odoo: &OdooClient,
    signals: &[(i64, Signal)],
) -> Result<Vec<(i64, Effect)>, OdooError> {
    let mut effects = Vec::new();
    if signals.is_empty() {
        return Ok(effects);
    }
    let refs: Vec<&str> = signals.iter().map(|(_, s)| s.reference.as_str()).collect();
    // An RFQ with the signal's reference as its origin is the one an earlier push made.
    let made: HashMap<String, (i64, Option<String>)> = odoo
        .search_read(
            PURCHASE_ORDER,
            json!([["origin", "in", refs]]),
            &["name", "origin"],
            Default::default(),
        )
        .await?
        .iter()
        .filter_map(|o| {
            Some((
                text(o.get("origin"))?,
                (o.get("id")?.as_i64()?, text(o.get("name"))),
            ))
        })
        .collect();
    let todo: Vec<(i64, Signal)> = signals
        .iter()
        .filter(|(_, s)| match made.get(&s.reference) {
            Some((id, name)) => {
                effects.push((
                    s.id,
                    Effect::Applied {
                        model: PURCHASE_ORDER,
                        id: *id,
                        name: name.clone(),
                        rule: None,
                    },
                ));
                false
            }
            None => true,
        })
        .cloned()
        .collect();
    if todo.is_empty() {
        return Ok(effects);
    }
    // The receipt goes to the signal's warehouse: its incoming operation type.
    let receipts = odoo.caps.has(PURCHASE_ORDER, "picking_type_id");
    let whs = warehouses(odoo, &todo, receipts).await?;
    let todo: Vec<&Signal> = todo.iter().map(|(_, s)| s).collect();
    // Vendors: the recommendation's (by name or reference), else the product's first
    // vendor pricelist entry.
    let names: Vec<&str> = todo.iter().filter_map(|s| s.vendor.as_deref()).collect();
    let mut by_name: HashMap<String, i64> = HashMap::new();
    if !names.is_empty() {
        for p in odoo
            .search_read(
                PARTNER,
                json!(["|", ["name", "in", names], ["ref", "in", names]]),
                &["name", "ref"],
                Default::default(),
            )
            .await?
        {
            let Some(id) = p.get("id").and_then(Value::as_i64) else {
                continue;
            };
            for k in [text(p.get("ref")), text(p.get("name"))]
                .into_iter()
                .flatten()
            {
                by_name.entry(k).or_insert(id);
            }
        }
    }
    let pricelist = vendor_pricelist(odoo, &todo).await?;
    let mut creates: Vec<(&Signal, Value)> = Vec::new();
    for s in todo {
        let vendor = s
            .vendor
            .as_ref()
            .and_then(|v| by_name.get(v).copied())
            .or_else(|| pricelist.get(&s.product).map(|p| p.0));
        let Some(vendor) = vendor else {
            effects.push((
                s.id,
                Effect::Refused(format!(
                    "no vendor for the RFQ: {} is not a vendor in Odoo and the product has no vendor pricelist",
                    s.vendor.as_deref().unwrap_or("the recommendation names none and")
                )),
            ));
            continue;
        };
        let mut order = json!({"partner_id": vendor, "origin": s.reference});
        if receipts {
            match whs.id_of(s).and_then(|w| whs.receipts.get(&w)) {
                Some(t) => order["picking_type_id"] = json!(t),
                None => {
                    effects.push((
                        s.id,
                        Effect::Refused(format!(
                            "Odoo has no warehouse with the code {} (or it has no receipts): the RFQ's receipt would land elsewhere",
                            s.warehouse_code
                        )),
                    ));
                    continue;
                }
            }
        }
        let mut line = json!({
            "product_id": s.product,
            "product_qty": float(s.quantity),
        });
        if let Some(d) = &s.need_by {
            line["date_planned"] = json!(format!("{d} 12:00:00"));
        }
        if let Some((_, price)) = pricelist.get(&s.product).filter(|p| p.0 == vendor) {
            line["price_unit"] = json!(price);
        }
        order["order_line"] = json!([[0, 0, line]]);
        creates.push((s, order));
    }
    if creates.is_empty() {
        return Ok(effects);
    }
    let ids = odoo
        .create_many(
            PURCHASE_ORDER,
            creates.iter().map(|c| c.1.clone()).collect(),
        )
        .await?;
    let names: HashMap<i64, String> = odoo
        .read(PURCHASE_ORDER, &ids, &["name"])
        .await?
        .iter()
        .filter_map(|r| Some((r.get("id")?.as_i64()?, text(r.get("name"))?)))
        .collect();
    for ((s, _), id) in creates.into_iter().zip(ids) {
        // An internal note (subtype mail.mt_note), not a message to the vendor following
        // the RFQ. `message_post` takes one record (Odoo's ensure_one): one call per RFQ.
        odoo.message_post(
            PURCHASE_ORDER,
            id,
            &note(s, "Draft RFQ created; confirm it in Odoo"),
        )
        .await?;
        effects.push((
            s.id,
            Effect::Applied {
                model: PURCHASE_ORDER,
                id,
                name: names.get(&id).cloned(),
                rule: None,
            },
        ));
    }
    Ok(effects)
}

/// Each product's vendor pricelist entry: (vendor, price). Entries for the variant win
/// over entries for its template (`product_id` not set), then the lower sequence, then the
/// lower minimum quantity. Two calls: the variants' templates, then the entries.
async fn vendor_pricelist(
    odoo: &OdooClient,
    signals: &[&Signal],
) -> Result<HashMap<i64, (i64, f64)>, OdooError> {
    let mut products: Vec<i64> = signals.iter().map(|s| s.product).collect();
    products.sort_unstable();
    products.dedup();
    let templates: HashMap<i64, i64> = odoo
        .read(PRODUCT, &products, &["product_tmpl_id"])
        .await?
        .iter()
        .filter_map(|p| {
            Some((
                p.get("id")?.as_i64()?,
                many2one(p.get("product_tmpl_id"))?.0,
            ))
        })
        .collect();
    let tmpl_ids: Vec<i64> = templates.values().copied().collect();
    let mut best: HashMap<i64, (bool, i64, f64)> = HashMap::new();
    for i in odoo
        .search_read(
            SUPPLIER_INFO,
            json!([
                "|",
                ["product_id", "in", products],
                "&",
                ["product_id", "=", false],
                ["product_tmpl_id", "in", tmpl_ids]
            ]),
            &["partner_id", "product_id", "product_tmpl_id", "price"],
            crate::server::odoo::client::SearchOptions {
                order: Some("sequence asc, min_qty asc, id asc"),
                ..Default::default()
            },
        )
        .await?
    {
        let Some((vendor, _)) = many2one(i.get("partner_id")) else {
            continue;
        };
        let price = i.get("price").and_then(Value::as_f64).unwrap_or_default();
        let (variant, for_products): (bool, Vec<i64>) = match many2one(i.get("product_id")) {
            Some((p, _)) => (true, vec![p]),
            None => {
                let Some((t, _)) = many2one(i.get("product_tmpl_id")) else {
                    continue;
                };
                (
                    false,
                    templates
                        .iter()
                        .filter(|(_, tt)| **tt == t)
                        .map(|(p, _)| *p)
                        .collect(),
                )
            }
        };
        for p in for_products {
            // In Odoo's order; a variant's own entry replaces a template's.
            match best.get(&p) {
                Some((true, ..)) => {}
                Some((false, ..)) if !variant => {}
                _ => {
                    best.insert(p, (variant, vendor, price));
                }
            }
        }
    }
    Ok(best
        .into_iter()
        .map(|(p, (_, v, price))| (p, (v, price)))
        .collect())
}

/// Records a push's effects in one transaction (only on signals still pending).
async fn record(db: &Db, effects: &[(i64, Effect)]) -> Result<(), sqlx::Error> {
    if effects.is_empty() {
        return Ok(());
    }
    let now = db::now();
    // Keyed by the kinds of the signals' versions (approvals and imports of a kind write
    // under its key): two records of one version then run one after the other, so the one
    // that settles its last signal sees the other's and marks the version applied.
    let kinds = signal_kinds(db, effects.iter().map(|(s, _)| *s)).await?;
    let keys: Vec<db::LockKey> = kinds.iter().map(|k| db::LockKey::planning_kind(k)).collect();
    let mut tx = db::write_keyed(db, &keys).await?;
    let mut versions: Vec<i64> = Vec::new();
    for (signal, effect) in effects {
        let (state, model, id, name, odoo_values, rule, warehouse) = match effect {
            Effect::Applied {
                model,
                id,
                name,
                rule,
            } => (
                "applied",
                *model,
                *id,
                name,
                None,
                rule.as_ref(),
                rule.as_ref().map(|r| r.1),
            ),
            Effect::Unchanged { id, name, rule } => (
                "unchanged",
                ORDERPOINT,
                *id,
                name,
                None,
                Some(rule),
                Some(rule.1),
            ),
            Effect::Conflict {
                id,
                name,
                odoo,
                warehouse,
            } => (
                "conflict",
                ORDERPOINT,
                *id,
                name,
                Some(odoo.json()),
                None,
                Some(*warehouse),
            ),
            Effect::Later => continue,
            Effect::Refused(why) => {
                sqlx::query("UPDATE planning_signals SET note = $1 WHERE id = $2")
                    .bind(why)
                    .bind(signal)
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
        };
        let r: Option<(i64,)> = sqlx::query_as(
            "UPDATE planning_signals SET state = $1, odoo_model = $2, odoo_id = $3, odoo_name = $4, odoo_values = $5, note = NULL, applied_at = $6,
               warehouse_odoo_id = COALESCE(warehouse_odoo_id, $8)
             WHERE id = $7 AND state = 'pending' RETURNING import_id",
        )
        .bind(state)
        .bind(model)
        .bind(id)
        .bind(name)
        .bind(odoo_values)
        .bind((state != "conflict").then(|| now.clone()))
        .bind(signal)
        .bind(warehouse)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((import_id,)) = r else {
            continue;
        };
        if !versions.contains(&import_id) {
            versions.push(import_id);
        }
        if let Some((product, warehouse, values)) = rule {
            remember_rule(&mut tx, *product, *warehouse, id, values).await?;
        }
        if model == PURCHASE_ORDER {
            link(&mut tx, *signal, id, name.as_deref().unwrap_or_default()).await?;
        }
    }
    for v in versions {
        version_settled(&mut tx, v).await?;
    }
    tx.commit().await
}

/// The kinds of the versions the signals `ids` belong to.
async fn signal_kinds(db: &Db, ids: impl Iterator<Item = i64>) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<i64> = ids.collect();
    let sql = format!(
        "SELECT DISTINCT i.kind FROM planning_signals s JOIN planning_imports i ON i.id = s.import_id WHERE s.id IN ({})",
        db::placeholders(1, ids.len())
    );
    let mut q = sqlx::query_as::<_, (String,)>(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(db).await?.into_iter().map(|(k,)| k).collect())
}

/// Once every signal of the version `import_id` is applied, unchanged or kept in Odoo:
/// marks it so and writes `planning.version_applied`, in the caller's transaction (the
/// one that settled its last signal). Once per version: later calls find it marked.
pub(super) async fn version_settled(tx: &mut Tx<'_>, import_id: i64) -> Result<(), sqlx::Error> {
    let r = sqlx::query(
        "UPDATE planning_imports SET applied_at = $1 WHERE id = $2 AND applied_at IS NULL
           AND EXISTS (SELECT 1 FROM planning_signals WHERE import_id = $2)
           AND NOT EXISTS (SELECT 1 FROM planning_signals WHERE import_id = $2 AND state NOT IN ('applied', 'unchanged', 'kept'))",
    )
    .bind(db::now())
    .bind(import_id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 1 {
        crate::server::events::for_planning_version(
            tx,
            "planning.version_applied",
            import_id,
            "Odoo holds every demand signal of the version",
        )
        .await?;
    }
    Ok(())
}

async fn remember_rule(
    tx: &mut Tx<'_>,
    product: i64,
    warehouse: i64,
    rule: i64,
    v: &RuleValues,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO planning_rules (product_odoo_id, warehouse_odoo_id, rule_odoo_id, min_qty, max_qty, trigger_mode, manual_qty, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (product_odoo_id, warehouse_odoo_id) DO UPDATE SET rule_odoo_id = excluded.rule_odoo_id, min_qty = excluded.min_qty,
           max_qty = excluded.max_qty, trigger_mode = excluded.trigger_mode, manual_qty = excluded.manual_qty, seen_at = excluded.seen_at",
    )
    .bind(product)
    .bind(warehouse)
    .bind(rule)
    .bind(v.min.normalize().to_string())
    .bind(v.max.normalize().to_string())
    .bind(&v.trigger)
    .bind(v.manual.map(|m| m.normalize().to_string()))
    .bind(db::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn link(
    tx: &mut Tx<'_>,
    signal: i64,
    order_odoo_id: i64,
    order_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO planning_signal_orders (signal_id, order_odoo_id, order_name, linked_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (signal_id, order_odoo_id) DO UPDATE SET order_name = excluded.order_name",
    )
    .bind(signal)
    .bind(order_odoo_id)
    .bind(order_name)
    .bind(db::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Links an order the poller stores to the signals its `origin` names: a signal's
/// reference (the RFQs the push made), or a rule the push wrote (Odoo's replenishment
/// names the rule, e.g. `OP/00004`): then the rule's latest applied signal.
pub async fn link_order(
    tx: &mut Tx<'_>,
    order_odoo_id: i64,
    order_name: &str,
    origin: Option<&str>,
) -> Result<(), sqlx::Error> {
    let Some(origin) = origin.filter(|o| !o.trim().is_empty()) else {
        return Ok(());
    };
    for token in origin
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let signal: Option<(i64,)> = if token.starts_with("SIG-") {
            sqlx::query_as("SELECT id FROM planning_signals WHERE reference = $1")
                .bind(token)
                .fetch_optional(&mut **tx)
                .await?
        } else {
            sqlx::query_as(
                "SELECT id FROM planning_signals WHERE kind = 'rule' AND odoo_name = $1 AND state IN ('applied', 'unchanged') ORDER BY id DESC LIMIT 1",
            )
            .bind(token)
            .fetch_optional(&mut **tx)
            .await?
        };
        if let Some((id,)) = signal {
            link(tx, id, order_odoo_id, order_name).await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- reading and deciding

/// Buyers, planners and admins; suppliers are told it does not exist.
fn may_see(user: &CurrentUser) -> Result<(), PlanningError> {
    if user.is_internal() {
        Ok(())
    } else {
        Err(PlanningError::NotFound)
    }
}

const VIEW: &str = "SELECT s.id, s.reference, s.import_id, s.kind, s.item_code, s.location_code, s.product_odoo_id, s.warehouse_code,
        s.min_qty, s.max_qty, s.quantity, s.need_by, s.correlation_id,
        CASE WHEN s.state = 'pending' AND j.state = 'dead' THEN 'dead' ELSE s.state END AS state,
        s.odoo_model, s.odoo_id, s.odoo_name, s.odoo_values, COALESCE(s.note, j.last_error) AS problem, s.applied_at
     FROM planning_signals s LEFT JOIN jobs j ON j.id = s.job_id";

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: i64,
    reference: String,
    import_id: i64,
    kind: String,
    item_code: String,
    location_code: String,
    product_odoo_id: i64,
    warehouse_code: String,
    min_qty: Option<String>,
    max_qty: Option<String>,
    quantity: Option<String>,
    need_by: Option<String>,
    correlation_id: String,
    state: String,
    odoo_model: Option<String>,
    odoo_id: Option<i64>,
    odoo_name: Option<String>,
    odoo_values: Option<String>,
    problem: Option<String>,
    applied_at: Option<String>,
}

fn view(r: ViewRow, orders: &HashMap<i64, Vec<(i64, String)>>) -> SignalView {
    let odoo: Option<Value> = r
        .odoo_values
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok());
    let field = |k: &str| {
        odoo.as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(String::from)
    };
    SignalView {
        orders: orders.get(&r.id).cloned().unwrap_or_default(),
        id: r.id,
        reference: r.reference,
        import_id: r.import_id,
        kind: r.kind,
        item_code: r.item_code,
        location_code: r.location_code,
        product_odoo_id: r.product_odoo_id,
        warehouse_code: r.warehouse_code,
        min_qty: r.min_qty,
        max_qty: r.max_qty,
        quantity: r.quantity,
        need_by: r.need_by,
        correlation_id: r.correlation_id,
        state: r.state,
        odoo_model: r.odoo_model,
        odoo_id: r.odoo_id,
        odoo_name: r.odoo_name,
        odoo_min: field("min"),
        odoo_max: field("max"),
        odoo_trigger: field("trigger"),
        problem: r.problem,
        applied_at: r.applied_at,
    }
}

async fn orders_of(
    db: &Db,
    signals: &[i64],
) -> Result<HashMap<i64, Vec<(i64, String)>>, sqlx::Error> {
    if signals.is_empty() {
        return Ok(HashMap::new());
    }
    let mut args = Vec::new();
    let list: Vec<String> = signals
        .iter()
        .map(|i| db::arg(&mut args, db::Arg::Int(*i)))
        .collect();
    let rows: Vec<(i64, i64, String)> = db::bind_args(
        sqlx::query_as(&format!(
            "SELECT signal_id, order_odoo_id, order_name FROM planning_signal_orders WHERE signal_id IN ({}) ORDER BY order_odoo_id",
            list.join(", ")
        )),
        &args,
    )
    .fetch_all(db)
    .await?;
    let mut out: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (s, o, n) in rows {
        out.entry(s).or_default().push((o, n));
    }
    Ok(out)
}

async fn views(db: &Db, rows: Vec<ViewRow>) -> Result<Vec<SignalView>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let orders = orders_of(db, &ids).await?;
    Ok(rows.into_iter().map(|r| view(r, &orders)).collect())
}

/// A version's signals, in reference order (at most 2,000: the signals page).
pub async fn signals_for_version(db: &Db, import_id: i64) -> Result<Vec<SignalView>, sqlx::Error> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "{VIEW} WHERE s.import_id = $1 ORDER BY s.id LIMIT 2000"
    ))
    .bind(import_id)
    .fetch_all(db)
    .await?;
    views(db, rows).await
}

/// Every signal of one item (its code in any case) in a version, in reference order.
pub async fn signals_for_item(
    db: &Db,
    import_id: i64,
    item: &str,
) -> Result<Vec<SignalView>, sqlx::Error> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "{VIEW} WHERE s.import_id = $1 AND UPPER(s.item_code) = UPPER($2) ORDER BY s.id"
    ))
    .bind(import_id)
    .bind(item)
    .fetch_all(db)
    .await?;
    views(db, rows).await
}

/// At most `limit` of a version's signals, those that led to a purchase order first, in
/// reference order; and how many signals the version has.
pub async fn signals_leading_first(
    db: &Db,
    import_id: i64,
    limit: usize,
) -> Result<(Vec<SignalView>, usize), sqlx::Error> {
    let (total,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM planning_signals WHERE import_id = $1")
            .bind(import_id)
            .fetch_one(db)
            .await?;
    let mut rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "{VIEW} WHERE s.import_id = $1
         ORDER BY CASE WHEN EXISTS (SELECT 1 FROM planning_signal_orders o WHERE o.signal_id = s.id) THEN 0 ELSE 1 END, s.id
         LIMIT $2"
    ))
    .bind(import_id)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(db)
    .await?;
    rows.sort_by_key(|r| r.id);
    Ok((views(db, rows).await?, usize::try_from(total).unwrap_or(0)))
}

/// The signals an Odoo purchase order answers (the trace from an order back to the plan).
pub async fn signals_for_order(
    db: &Db,
    order_odoo_id: i64,
) -> Result<Vec<SignalView>, sqlx::Error> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "{VIEW} WHERE s.id IN (SELECT signal_id FROM planning_signal_orders WHERE order_odoo_id = $1) ORDER BY s.id"
    ))
    .bind(order_odoo_id)
    .fetch_all(db)
    .await?;
    views(db, rows).await
}

/// The signals page: a version's signals, for buyers, planners and admins.
pub async fn signals_page(
    db: &Db,
    user: &CurrentUser,
    import_id: i64,
) -> Result<Vec<SignalView>, PlanningError> {
    may_see(user)?;
    let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM planning_imports WHERE id = $1")
        .bind(import_id)
        .fetch_optional(db)
        .await?;
    exists.ok_or(PlanningError::NotFound)?;
    Ok(signals_for_version(db, import_id).await?)
}

/// A signal a buyer or planner decides on, with the state of its push job.
#[derive(sqlx::FromRow)]
struct DecisionRow {
    import_id: i64,
    reference: String,
    state: String,
    item_code: String,
    location_code: String,
    correlation_id: String,
    job_id: Option<i64>,
    job_state: Option<String>,
    odoo_id: Option<i64>,
    warehouse_odoo_id: Option<i64>,
    odoo_values: Option<String>,
    product_odoo_id: i64,
}

/// A buyer's or planner's answer to a conflict (`apply`: the portal's values over Odoo's;
/// `keep`: Odoo's stay, and are what later signals compare with), or `retry` of a dead one.
/// Returns the signal's version id.
pub async fn decide(
    db: &Db,
    user: &CurrentUser,
    signal_id: i64,
    choice: &str,
    ip: &str,
) -> Result<(i64, String), PlanningError> {
    may_see(user)?;
    let mut tx = db::write(db).await?;
    let row: Option<DecisionRow> = sqlx::query_as(
        "SELECT s.import_id, s.reference, s.state, s.item_code, s.location_code, s.correlation_id, s.job_id, j.state AS job_state,
                s.odoo_id, s.warehouse_odoo_id, s.odoo_values, s.product_odoo_id
         FROM planning_signals s LEFT JOIN jobs j ON j.id = s.job_id WHERE s.id = $1",
    )
    .bind(signal_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(DecisionRow {
        import_id,
        reference,
        state,
        item_code: item,
        location_code: location,
        correlation_id: correlation,
        job_id: job,
        job_state,
        odoo_id: rule,
        warehouse_odoo_id: warehouse,
        odoo_values,
        product_odoo_id: product,
    }) = row
    else {
        return Err(PlanningError::NotFound);
    };
    let message = match (choice, state.as_str()) {
        ("apply", "conflict") => {
            // A newer version speaks for this item-location: the older values must not
            // be written over what it asked for.
            let newer: Option<(String,)> = sqlx::query_as(
                "SELECT reference FROM planning_signals WHERE item_code = $1 AND location_code = $2 AND kind = 'rule' AND id > $3 ORDER BY id DESC LIMIT 1",
            )
            .bind(&item)
            .bind(&location)
            .bind(signal_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((newer,)) = newer {
                return Err(PlanningError::Invalid(format!(
                    "{newer}, of a newer version, speaks for {item} at {location}: decide there; here you can only keep Odoo's values."
                )));
            }
            sqlx::query(
                "UPDATE planning_signals SET state = 'pending', decision = 'apply', odoo_values = NULL WHERE id = $1 AND state = 'conflict'",
            )
            .bind(signal_id)
            .execute(&mut *tx)
            .await?;
            queue(&mut tx, signal_id, &item, &location, &correlation).await?;
            format!("{reference}: the portal's values are written over Odoo's.")
        }
        ("keep", "conflict") => {
            if let (Some(rule), Some(warehouse)) = (rule, warehouse) {
                // Odoo's values as the conflict stored them; unreadable ones are our fault
                // (a 500), not a rule of zeros for the next version to compare with.
                let values = RuleValues::from_json(odoo_values.as_deref().unwrap_or("null"))
                    .map_err(|e| sqlx::Error::Decode(e.into()))?;
                remember_rule(&mut tx, product, warehouse, rule, &values).await?;
            }
            sqlx::query("UPDATE planning_signals SET state = 'kept', decision = 'keep', applied_at = $1 WHERE id = $2 AND state = 'conflict'")
                .bind(db::now())
                .bind(signal_id)
                .execute(&mut *tx)
                .await?;
            format!("{reference}: Odoo's values are kept.")
        }
        ("retry", "pending") if job_state.as_deref() == Some("dead") => {
            if let Some(job) = job {
                jobs::replay(&mut tx, job).await?;
            }
            format!("{reference} is pushed again.")
        }
        ("discard", "pending") if job_state.as_deref() == Some("dead") => {
            // Given up for good: its item-location's later signals are not held behind it.
            if let Some(job) = job {
                jobs::discard(&mut tx, job).await?;
            }
            sqlx::query("UPDATE planning_signals SET state = 'kept', decision = 'discard', applied_at = $1 WHERE id = $2 AND state = 'pending'")
                .bind(db::now())
                .bind(signal_id)
                .execute(&mut *tx)
                .await?;
            format!("{reference} is given up: Odoo keeps what it has.")
        }
        ("apply" | "keep" | "retry" | "discard", _) => {
            return Err(PlanningError::Invalid(format!(
                "{reference} is {state}: there is nothing to decide (it may have been decided already)."
            )))
        }
        _ => {
            return Err(PlanningError::Invalid(
                "Choose apply, keep, retry or discard.".into(),
            ))
        }
    };
    if matches!(choice, "keep" | "discard") {
        version_settled(&mut tx, import_id).await?;
    }
    audit(
        &mut *tx,
        Some(user.id),
        &format!("planning_signal_{choice}"),
        &format!("planning_signal:{signal_id}"),
        &reference,
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok((import_id, message))
}

/// `POST /planning/signals/{signal}/{choice}` (`apply`, `keep`, `retry`): the plain form on
/// the signals page (the request guard checked its CSRF token); back to the page with the
/// outcome.
pub async fn decide_form(
    axum::extract::State(state): axum::extract::State<crate::server::AppState>,
    axum::extract::Path((signal, choice)): axum::extract::Path<(i64, String)>,
    user: Option<axum::Extension<CurrentUser>>,
    ip: Option<axum::Extension<crate::server::auth::csrf::ClientIp>>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let Some(axum::Extension(user)) = user else {
        return Redirect::to("/login").into_response();
    };
    let ip = ip.map(|i| i.0 .0).unwrap_or_else(|| "unknown".into());
    let back = |page: &str, key: &str, m: &str| {
        let q = serde_urlencoded::to_string([(key, m)]).unwrap_or_default();
        Redirect::to(&format!("{page}?{q}")).into_response()
    };
    match decide(&state.db, &user, signal, &choice, &ip).await {
        Ok((import, message)) => back(&format!("/planning/signals/{import}"), "saved", &message),
        Err(PlanningError::Invalid(m)) => {
            let import: Option<(i64,)> =
                sqlx::query_as("SELECT import_id FROM planning_signals WHERE id = $1")
                    .bind(signal)
                    .fetch_optional(&state.db)
                    .await
                    .ok()
                    .flatten();
            let page = import
                .map(|i| format!("/planning/signals/{}", i.0))
                .unwrap_or_else(|| "/planning".into());
            back(&page, "error", &m)
        }
        Err(e) => e.into_problem("No such signal.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{as_odoo_keeps, RuleValues};

    #[test]
    fn odoos_values_of_a_conflict_read_back_as_stored_and_bad_ones_fail() {
        let values = RuleValues {
            min: "2.5".parse().unwrap(),
            max: "40".parse().unwrap(),
            trigger: "auto".into(),
            manual: None,
        };
        assert_eq!(RuleValues::from_json(&values.json()), Ok(values));
        for bad in [
            r#"{"min":"x","max":"40","trigger":"auto"}"#,
            r#"{"max":"40","trigger":"auto"}"#,
            r#"{"min":"1","max":40,"trigger":"auto"}"#,
            r#"{"min":"1","max":"40"}"#,
            "null",
            "not json",
        ] {
            assert!(RuleValues::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_are_rounded_as_odoo_keeps_them_on_a_rule() {
        assert_eq!(as_odoo_keeps("103.72345"), "103.72");
        assert_eq!(
            as_odoo_keeps("2.505"),
            "2.51",
            "half away from zero, as Odoo rounds"
        );
        assert_eq!(as_odoo_keeps("12.00"), "12");
        assert_eq!(as_odoo_keeps("0"), "0");
        assert_eq!(as_odoo_keeps("n/a"), "n/a");
    }
}

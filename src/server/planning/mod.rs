//! Demand planning (issue 14, first half): forecasts and supply recommendations come in
//! through one validating pipeline (`intake`), mapped to Odoo's products, warehouses and
//! units (`mapping`); valid snapshots are numbered versions a planner compares with the
//! previous approved one and approves. Only approved versions are meant to produce demand
//! signals: [`latest_approved`] and [`forecast_rows`] are what the push into Odoo reads.
//! Planner overrides (`overrides`), approval by rule (`auto_approval`), one item across
//! versions (`history`) and the supplier-confirmed supply out (`supply_export`) are beside it.
//! Pushing approved versions into Odoo is `push`; traces are not here yet.
//!
//! Who may: planners and admins (`CurrentUser::plans`), checked here as well as by the
//! request guard; an API token of scope `planning:write` sends snapshots as its staff
//! integration user.

pub mod auto_approval;
pub mod forms;
pub mod history;
pub mod intake;
pub mod mapping;
pub mod monitor;
pub mod override_forms;
pub mod overrides;
pub mod pull;
pub mod supply_export;

pub use overrides::effective_forecast;
pub mod push;
pub mod trace;

use rust_decimal::Decimal;

use crate::domain::outcome::Outcome;
use crate::domain::planning::{change_percent, large_change};
use crate::model::planning::{
    DiffRow, ImportSummary, MappingView, RowProblem, Unmapped, VersionDetail, DIFF_SHOWN,
};
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::Quantity;
use crate::server::db::{self, Db};
use crate::server::idempotency::Submission;

/// The planning services' refusals: the order area's (not found, invalid with a sentence,
/// idempotency key, database).
pub type PlanningError = crate::server::orders::ActionError;

/// Changes beyond this percentage are highlighted on a version's page.
pub const DEFAULT_THRESHOLD_PERCENT: i64 = 20;

/// Planners and admins; anyone else is told the page does not exist for them.
pub fn may_plan(user: &CurrentUser) -> Result<(), PlanningError> {
    if user.plans() {
        Ok(())
    } else {
        Err(PlanningError::NotFound)
    }
}

const SUMMARY: &str = "SELECT i.id, i.kind, i.source, i.snapshot_id, i.file_name, i.status, i.version, i.row_count, i.item_count, i.error_count,
        s.display_name, i.sent_at, COALESCE(a.display_name, 'rule: ' || i.approved_rule), i.approved_at, i.correlation_id
     FROM planning_imports i JOIN users s ON s.id = i.sent_by LEFT JOIN users a ON a.id = i.approved_by";

type SummaryRow = (
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

fn summary(r: SummaryRow) -> ImportSummary {
    ImportSummary {
        id: r.0,
        kind: r.1,
        source: r.2,
        snapshot_id: r.3,
        file_name: r.4,
        status: r.5,
        version: r.6,
        row_count: r.7,
        item_count: r.8,
        error_count: r.9,
        sent_by: r.10,
        sent_at: r.11,
        approved_by: r.12,
        approved_at: r.13,
        correlation_id: r.14,
    }
}

/// Every snapshot, newest first (the latest 200).
pub async fn list(db: &Db, user: &CurrentUser) -> Result<Vec<ImportSummary>, PlanningError> {
    may_plan(user)?;
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!("{SUMMARY} ORDER BY i.id DESC LIMIT 200"))
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(summary).collect())
}

async fn one(db: &Db, import_id: i64) -> Result<Option<ImportSummary>, sqlx::Error> {
    let row: Option<SummaryRow> = sqlx::query_as(&format!("{SUMMARY} WHERE i.id = $1"))
        .bind(import_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(summary))
}

/// A snapshot's stored report, in file order.
pub async fn problems(db: &Db, import_id: i64) -> Result<Vec<RowProblem>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT row_number, column_name, value, problem, fix FROM planning_errors WHERE import_id = $1 ORDER BY id",
    )
    .bind(import_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(row, column, value, problem, fix)| RowProblem {
            row,
            column,
            value,
            problem,
            fix,
        })
        .collect())
}

pub(crate) async fn unmapped(db: &Db, import_id: i64) -> Result<Vec<Unmapped>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT what, code, row_count FROM planning_unmapped WHERE import_id = $1 ORDER BY what, row_count DESC, code",
    )
    .bind(import_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(what, code, row_count)| Unmapped {
            what,
            code,
            row_count,
        })
        .collect())
}

/// The latest approved version of `kind` before version `before` (any, when None).
pub async fn latest_approved(
    db: &Db,
    kind: &str,
    before: Option<i64>,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, version FROM planning_imports WHERE kind = $1 AND status = 'approved' AND version < $2 ORDER BY version DESC LIMIT 1",
    )
    .bind(kind)
    .bind(before.unwrap_or(i64::MAX))
    .fetch_optional(db)
    .await
}

/// One bucket of a forecast version's rows of an item at a location: its start, kind and
/// bucket, the quantity in the product's unit, safety stock, min and max.
#[derive(Debug, sqlx::FromRow)]
pub struct ForecastRow {
    pub bucket_start: String,
    pub kind: String,
    pub bucket: String,
    pub quantity: Quantity,
    pub safety_stock: Option<String>,
    pub min_qty: Option<String>,
    pub max_qty: Option<String>,
}

/// One forecast version's rows of an item at a location, by bucket. What a push into Odoo
/// reads for an approved version.
pub async fn forecast_rows(
    db: &Db,
    import_id: i64,
    item: &str,
    location: &str,
) -> Result<Vec<ForecastRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT bucket_start, kind, bucket, quantity, safety_stock, min_qty, max_qty FROM planning_forecast_rows
         WHERE import_id = $1 AND item_code = $2 AND location_code = $3 ORDER BY bucket_start, kind",
    )
    .bind(import_id)
    .bind(item)
    .bind(location)
    .fetch_all(db)
    .await
}

/// A snapshot's page: the report if rejected, the changes against the previous approved
/// version if a version.
pub async fn detail(
    db: &Db,
    user: &CurrentUser,
    import_id: i64,
    threshold_percent: Decimal,
) -> Result<VersionDetail, PlanningError> {
    may_plan(user)?;
    let import = one(db, import_id).await?.ok_or(PlanningError::NotFound)?;
    let previous = match import.version {
        Some(v) => latest_approved(db, &import.kind, Some(v)).await?,
        None => None,
    };
    let (diff, changed_count) = if import.version.is_some() {
        diff(
            db,
            &import.kind,
            import.id,
            previous.map(|p| p.0),
            threshold_percent,
        )
        .await?
    } else {
        (Vec::new(), 0)
    };
    Ok(VersionDetail {
        problems: problems(db, import_id).await?,
        unmapped: unmapped(db, import_id).await?,
        previous_version: previous.map(|p| p.1),
        import,
        diff,
        changed_count,
        threshold_percent: threshold_percent.to_string(),
    })
}

/// Buckets whose quantity differs from the previous approved version (new and dropped
/// ones included), at most [`DIFF_SHOWN`], and how many there are.
async fn diff(
    db: &Db,
    kind: &str,
    now: i64,
    previous: Option<i64>,
    threshold: Decimal,
) -> Result<(Vec<DiffRow>, i64), sqlx::Error> {
    let changed = changed_sql(kind);
    let previous = previous.unwrap_or(-1);
    let (count,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM ({changed}) c"))
        .bind(now)
        .bind(previous)
        .fetch_one(db)
        .await?;
    let rows: Vec<Changed> =
        sqlx::query_as(&format!("{changed} ORDER BY 1, 2, 3, 4 LIMIT {DIFF_SHOWN}"))
            .bind(now)
            .bind(previous)
            .fetch_all(db)
            .await?;
    let rows = rows
        .into_iter()
        .map(|c| {
            let p = c.previous_quantity.map(Quantity::get);
            let n = c.new_quantity.map(Quantity::get);
            DiffRow {
                change_percent: match (p, n) {
                    (Some(p), Some(n)) => change_percent(p, n).map(|c| c.to_string()),
                    _ => None,
                },
                large: large_change(p, n, threshold),
                item: c.item_code,
                location: c.location_code,
                bucket_start: c.bucket_start,
                kind: c.kind,
                // As stored: a decimal's text keeps its scale.
                previous: p.map(|p| p.to_string()),
                now: n.map(|n| n.to_string()),
            }
        })
        .collect();
    Ok((rows, count))
}

/// A bucket whose quantity changed between two versions, as [`changed_sql`] reads it: none
/// before (new) or none now (dropped).
#[derive(sqlx::FromRow)]
pub(crate) struct Changed {
    pub item_code: String,
    pub location_code: String,
    pub bucket_start: String,
    pub kind: String,
    pub previous_quantity: Option<Quantity>,
    pub new_quantity: Option<Quantity>,
}

/// The buckets of version `$1` whose quantity differs from version `$2`'s (new and dropped
/// ones included), one [`Changed`] each: item, location, bucket start, kind (the source's
/// id for supply), the previous and the new quantity.
pub(crate) fn changed_sql(kind: &str) -> String {
    // Supply recommendations are keyed by the source's id: item and location stand in for
    // the bucket's place, the need-by date for its start.
    let (table, key, start) = if kind == "supply" {
        ("planning_supply_rows", "source_id", "need_by")
    } else {
        ("planning_forecast_rows", "kind", "bucket_start")
    };
    let same = if kind == "supply" {
        "p.source_id = n.source_id"
    } else {
        "p.item_code = n.item_code AND p.location_code = n.location_code AND p.bucket_start = n.bucket_start AND p.kind = n.kind"
    };
    format!(
        "SELECT n.item_code, n.location_code, n.{start} AS bucket_start, n.{key} AS kind, p.quantity AS previous_quantity,
                n.quantity AS new_quantity FROM {table} n
           LEFT JOIN {table} p ON p.import_id = $2 AND {same}
           WHERE n.import_id = $1 AND (p.quantity IS NULL OR p.quantity <> n.quantity)
         UNION ALL
         SELECT p.item_code, p.location_code, p.{start}, p.{key}, p.quantity, NULL FROM {table} p
           WHERE p.import_id = $2 AND NOT EXISTS (SELECT 1 FROM {table} n WHERE n.import_id = $1 AND {same})"
    )
}

/// Who approves a version: a planner, or a rule on behalf of the sender of the version
/// (`auto_approval`), recorded with how it reads ("within 10%").
pub enum Approver<'a> {
    Planner(&'a CurrentUser),
    Rule {
        sender: &'a CurrentUser,
        rule: String,
    },
}

/// A planner approves a valid version; approving it again changes nothing. Its demand
/// signals are derived and queued in the same transaction (`push`; supply versions only
/// with `rfqs`, the `MILLRACE_PLANNING_RFQS` setting).
pub async fn approve(
    db: &Db,
    user: &CurrentUser,
    import_id: i64,
    ip: &str,
    key: Option<&str>,
    rfqs: bool,
) -> Result<Outcome, PlanningError> {
    may_plan(user)?;
    approve_as(db, Approver::Planner(user), import_id, ip, key, rfqs).await
}

/// The one approval path, for planners and for the auto-approval rule alike: whatever
/// follows an approval belongs here.
pub async fn approve_as(
    db: &Db,
    approver: Approver<'_>,
    import_id: i64,
    ip: &str,
    key: Option<&str>,
    rfqs: bool,
) -> Result<Outcome, PlanningError> {
    let (user, rule) = match &approver {
        Approver::Planner(u) => (*u, None),
        Approver::Rule { sender, rule } => (*sender, Some(rule.as_str())),
    };
    let submission = Submission::new(user.id, key, "approve_planning_version", &(import_id,))
        .map_err(PlanningError::Key)?;
    // Keyed by the version's kind (an import's kind never changes): its imports and their
    // status are written under the same key; approvals of other kinds and supplier answers
    // go on beside it. Its pushes are queued under the feed lock (`push::derive`).
    let kind: Option<(String,)> = sqlx::query_as("SELECT kind FROM planning_imports WHERE id = $1")
        .bind(import_id)
        .fetch_optional(db)
        .await?;
    let Some((kind,)) = kind else {
        return Err(PlanningError::NotFound);
    };
    let mut tx =
        db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::planning_kind(&kind)]))
            .await?;
    if let Some(first) = submission
        .replay::<Outcome>(&mut tx)
        .await
        .map_err(PlanningError::Key)?
    {
        return Ok(first);
    }
    let row: Option<(String, Option<i64>, String, String)> = sqlx::query_as(
        "SELECT status, version, kind, correlation_id FROM planning_imports WHERE id = $1",
    )
    .bind(import_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, version, kind, correlation_id)) = row else {
        return Err(PlanningError::NotFound);
    };
    let version = version.unwrap_or_default();
    let outcome = match status.as_str() {
        "approved" => Outcome::already(format!("The {kind} version {version} was approved already.")),
        "valid" => {
            sqlx::query(
                "UPDATE planning_imports SET status = 'approved', approved_by = $1, approved_rule = $2, approved_at = $3 WHERE id = $4 AND status = 'valid'",
            )
            .bind(rule.is_none().then_some(user.id))
            .bind(rule)
            .bind(db::now())
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
            push::derive(&mut tx, import_id, &kind, version, &correlation_id, rfqs).await?;
            crate::server::events::for_planning_version(
                &mut tx,
                "planning.version_approved",
                import_id,
                &match rule {
                    None => format!("The {kind} version {version} was approved"),
                    Some(r) => format!("The {kind} version {version} was approved by rule: {r}"),
                },
            )
            .await?;
            audit(
                &mut *tx,
                rule.is_none().then_some(user.id),
                "planning_version_approved",
                &format!("planning_import:{import_id}"),
                &match rule {
                    None => format!("{kind} version {version}"),
                    Some(r) => format!("{kind} version {version} by rule: {r}"),
                },
                ip,
            )
            .await?;
            match rule {
                None => Outcome::done(format!("The {kind} version {version} is approved.")),
                Some(r) => Outcome::done(format!(
                    "The {kind} version {version} is approved by rule: {r}."
                )),
            }
        }
        _ => {
            return Err(PlanningError::Invalid(
                "Only a valid version can be approved: this snapshot was rejected; fix it and validate again.".into(),
            ))
        }
    };
    submission
        .record(&mut tx, &outcome)
        .await
        .map_err(PlanningError::Key)?;
    tx.commit().await?;
    Ok(outcome)
}

/// The mapping page: the latest snapshot still waiting on fixes (rejected or pending) with
/// what it could not map, and every mapping.
pub async fn mapping_view(db: &Db, user: &CurrentUser) -> Result<MappingView, PlanningError> {
    may_plan(user)?;
    let latest: Option<SummaryRow> = sqlx::query_as(&format!(
        "{SUMMARY} WHERE i.status IN ('rejected', 'pending') ORDER BY i.id DESC LIMIT 1"
    ))
    .fetch_optional(db)
    .await?;
    let latest = latest.map(summary);
    let unmapped = match &latest {
        Some(i) => unmapped(db, i.id).await?,
        None => Vec::new(),
    };
    let (items, locations, units, profiles) = mapping::all(db).await?;
    Ok(MappingView {
        latest_rejected: latest,
        unmapped,
        items,
        locations,
        units,
        profiles,
        products: mapping::known_products(db).await?,
    })
}

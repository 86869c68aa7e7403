//! Planner overrides of forecast buckets (issue 14): kept apart from the imported rows, one
//! per item, location and bucket, so a later import does not touch them; each applies
//! through its last day. [`effective_forecast`] is what counts for a version: the override
//! while it applies, else the imported quantity. Who may: planners and admins.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{may_plan, PlanningError};
use crate::domain::planning_rules::{override_applies, OverrideInput};
use crate::model::planning_items::{EffectiveBucket, OverrideView, VersionOverrides};
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Db};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// An override as the form sends it.
pub struct OverrideForm<'a> {
    pub item: &'a str,
    pub location: &'a str,
    pub bucket_start: &'a str,
    pub quantity: &'a str,
    pub reason: &'a str,
    pub until: &'a str,
}

/// Sets the override of a bucket (replacing the one it had).
pub async fn create(
    db: &Db,
    user: &CurrentUser,
    form: &OverrideForm<'_>,
    ip: &str,
) -> Result<String, PlanningError> {
    may_plan(user)?;
    let input = OverrideInput::parse(form.quantity, form.reason, form.until, today())
        .map_err(PlanningError::Invalid)?;
    let (item, location, bucket) = (
        form.item.trim(),
        form.location.trim(),
        form.bucket_start.trim(),
    );
    let known: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM planning_forecast_rows r JOIN planning_imports i ON i.id = r.import_id
         WHERE r.item_code = $1 AND r.location_code = $2 AND r.bucket_start = $3 AND i.status IN ('valid', 'approved') LIMIT 1",
    )
    .bind(item)
    .bind(location)
    .bind(bucket)
    .fetch_optional(db)
    .await?;
    if known.is_none() {
        return Err(PlanningError::Invalid(format!(
            "No forecast version holds item {item} at {location} in the bucket starting {bucket}: override a bucket a version has."
        )));
    }
    let mut tx = db::write(db).await?;
    sqlx::query(
        "INSERT INTO planning_overrides (item_code, location_code, bucket_start, quantity, reason, until, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (item_code, location_code, bucket_start) DO UPDATE SET quantity = excluded.quantity, reason = excluded.reason,
            until = excluded.until, created_by = excluded.created_by, created_at = excluded.created_at",
    )
    .bind(item)
    .bind(location)
    .bind(bucket)
    .bind(input.quantity().to_string())
    .bind(input.reason())
    .bind(input.until().to_string())
    .bind(user.id)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    let message = format!(
        "{item} at {location}, bucket {bucket}: {} until {} ({}).",
        input.quantity(),
        input.until(),
        input.reason()
    );
    audit(
        &mut *tx,
        Some(user.id),
        "planning_override_set",
        &format!("planning_item:{item}"),
        &message,
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(format!("Override saved: {message}"))
}

/// Removes an override: the imported quantity counts again.
pub async fn remove(
    db: &Db,
    user: &CurrentUser,
    id: i64,
    ip: &str,
) -> Result<String, PlanningError> {
    may_plan(user)?;
    let mut tx = db::write(db).await?;
    let row: Option<(String, String, String)> = sqlx::query_as(
        "DELETE FROM planning_overrides WHERE id = $1 RETURNING item_code, location_code, bucket_start",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((item, location, bucket)) = row else {
        return Err(PlanningError::Invalid(
            "That override was removed already.".into(),
        ));
    };
    let message = format!("{item} at {location}, bucket {bucket}");
    audit(
        &mut *tx,
        Some(user.id),
        "planning_override_removed",
        &format!("planning_item:{item}"),
        &message,
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(format!(
        "Override removed: {message} counts as imported again."
    ))
}

type OverrideRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

const OVERRIDES: &str = "SELECT o.id, o.item_code, o.location_code, o.bucket_start, o.quantity, o.reason, o.until, u.display_name, o.created_at
     FROM planning_overrides o JOIN users u ON u.id = o.created_by";

fn view(r: OverrideRow, today: NaiveDate) -> OverrideView {
    let active = NaiveDate::parse_from_str(&r.6, "%Y-%m-%d")
        .is_ok_and(|until| override_applies(until, today));
    OverrideView {
        id: r.0,
        item: r.1,
        location: r.2,
        bucket_start: r.3,
        quantity: r.4,
        reason: r.5,
        until: r.6,
        created_by: r.7,
        created_at: r.8,
        active,
    }
}

/// The overrides of an item at a location (every item when `item` is None), active first.
pub async fn list(db: &Db, item: Option<(&str, &str)>) -> Result<Vec<OverrideView>, sqlx::Error> {
    let rows: Vec<OverrideRow> = match item {
        Some((item, location)) => {
            sqlx::query_as(&format!(
                "{OVERRIDES} WHERE o.item_code = $1 AND o.location_code = $2 ORDER BY o.bucket_start"
            ))
            .bind(item)
            .bind(location)
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "{OVERRIDES} ORDER BY o.until DESC, o.item_code, o.location_code, o.bucket_start LIMIT 500"
            ))
            .fetch_all(db)
            .await?
        }
    };
    let today = today();
    let mut list: Vec<OverrideView> = rows.into_iter().map(|r| view(r, today)).collect();
    list.sort_by_key(|o| !o.active);
    Ok(list)
}

/// A forecast bucket as imported, with the override that applies to it if any.
#[derive(sqlx::FromRow)]
struct BucketRow {
    item_code: String,
    location_code: String,
    bucket_start: String,
    kind: String,
    imported: String,
    override_id: Option<i64>,
    override_quantity: Option<String>,
    reason: Option<String>,
    until: Option<String>,
}

/// One forecast version's buckets with what counts for each: the override while it
/// applies, else the imported quantity. `item` narrows to one item at one location; only
/// overridden buckets when `overridden_only`.
async fn effective(
    db: &Db,
    import_id: i64,
    item: Option<(&str, &str)>,
    overridden_only: bool,
) -> Result<Vec<EffectiveBucket>, sqlx::Error> {
    let join = if overridden_only { "JOIN" } else { "LEFT JOIN" };
    let mut sql = format!(
        "SELECT r.item_code, r.location_code, r.bucket_start, r.kind, r.quantity AS imported, o.id AS override_id,
                o.quantity AS override_quantity, o.reason, o.until
         FROM planning_forecast_rows r
         {join} planning_overrides o ON o.item_code = r.item_code AND o.location_code = r.location_code
            AND o.bucket_start = r.bucket_start AND o.until >= $2
         WHERE r.import_id = $1"
    );
    if item.is_some() {
        sql.push_str(" AND r.item_code = $3 AND r.location_code = $4");
    }
    sql.push_str(" ORDER BY r.item_code, r.location_code, r.bucket_start, r.kind LIMIT 5000");
    let mut q = sqlx::query_as::<_, BucketRow>(&sql)
        .bind(import_id)
        .bind(today().to_string());
    if let Some((i, l)) = item {
        q = q.bind(i).bind(l);
    }
    let rows = q.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| EffectiveBucket {
            effective: r.override_quantity.unwrap_or_else(|| r.imported.clone()),
            item: r.item_code,
            location: r.location_code,
            bucket_start: r.bucket_start,
            kind: r.kind,
            imported: r.imported,
            override_id: r.override_id,
            reason: r.reason,
            until: r.until,
        })
        .collect())
}

/// What counts of a forecast version for an item at a location, bucket by bucket (each
/// imported row with the override that replaces it while it applies). What a push of an
/// approved version into Odoo reads; `effective` is in the product's unit.
pub async fn effective_forecast(
    db: &Db,
    import_id: i64,
    item: &str,
    location: &str,
) -> Result<Vec<EffectiveBucket>, sqlx::Error> {
    effective(db, import_id, Some((item, location)), false).await
}

/// The effective quantity as a number (the imported one if the stored text is unreadable).
pub fn effective_quantity(b: &EffectiveBucket) -> Decimal {
    b.effective
        .parse()
        .or_else(|_| b.imported.parse())
        .unwrap_or_default()
}

/// A forecast version's page: its overridden buckets and every override.
pub async fn for_version(
    db: &Db,
    user: &CurrentUser,
    import_id: i64,
) -> Result<VersionOverrides, PlanningError> {
    may_plan(user)?;
    Ok(VersionOverrides {
        overridden: effective(db, import_id, None, true).await?,
        overrides: list(db, None).await?,
    })
}

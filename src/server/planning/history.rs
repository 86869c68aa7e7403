//! One item's forecast at one location across versions (the item page's chart and table):
//! each version's quantity per bucket, where several kinds share a bucket the one
//! `domain::planning_rules::kind_rank` puts first, and the override that applies to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{may_plan, overrides, PlanningError};
use crate::domain::planning_rules::kind_rank;
use crate::model::planning_items::{ItemHistory, VersionSeries};
use crate::server::auth::CurrentUser;
use crate::server::db::Db;

/// Versions the chart draws at most (the latest ones).
pub const VERSIONS_SHOWN: usize = 8;

/// A version's quantities by bucket start: (kind rank, quantity) of the kind that speaks.
type ByBucket = HashMap<String, (u8, String)>;

/// A forecast version that has rows of the item: its import, number and status.
#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    version: i64,
    status: String,
}

/// The item's history at `location` (empty: the first location it has rows at).
pub async fn item_history(
    db: &Db,
    user: &CurrentUser,
    item: &str,
    location: &str,
) -> Result<ItemHistory, PlanningError> {
    may_plan(user)?;
    let locations: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT location_code FROM planning_forecast_rows WHERE item_code = $1 ORDER BY location_code",
    )
    .bind(item)
    .fetch_all(db)
    .await?;
    let locations: Vec<String> = locations.into_iter().map(|l| l.0).collect();
    let location = match location.trim() {
        "" => locations.first().cloned().ok_or(PlanningError::NotFound)?,
        l => l.to_string(),
    };
    let versions: Vec<VersionRow> = sqlx::query_as(&format!(
        "SELECT i.id, i.version, i.status FROM planning_imports i
         WHERE i.kind = 'forecast' AND i.status IN ('valid', 'approved')
           AND EXISTS (SELECT 1 FROM planning_forecast_rows r WHERE r.import_id = i.id AND r.item_code = $1 AND r.location_code = $2)
         ORDER BY i.version DESC LIMIT {VERSIONS_SHOWN}"
    ))
    .bind(item)
    .bind(&location)
    .fetch_all(db)
    .await?;
    if versions.is_empty() {
        return Err(PlanningError::NotFound);
    }
    // (import, version, status, bucket → (kind rank, quantity))
    let mut per_version: Vec<(VersionRow, ByBucket)> = Vec::new();
    let mut buckets: BTreeSet<String> = BTreeSet::new();
    for version in versions.into_iter().rev() {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT bucket_start, kind, quantity FROM planning_forecast_rows WHERE import_id = $1 AND item_code = $2 AND location_code = $3",
        )
        .bind(version.id)
        .bind(item)
        .bind(&location)
        .fetch_all(db)
        .await?;
        let mut by_bucket: ByBucket = HashMap::new();
        for (bucket, kind, quantity) in rows {
            buckets.insert(bucket.clone());
            let rank = kind_rank(&kind);
            match by_bucket.get(&bucket) {
                Some((r, _)) if *r <= rank => {}
                _ => {
                    by_bucket.insert(bucket, (rank, quantity));
                }
            }
        }
        per_version.push((version, by_bucket));
    }
    let buckets: Vec<String> = buckets.into_iter().collect();
    let active: BTreeMap<String, String> = overrides::list(db, Some((item, &location)))
        .await?
        .into_iter()
        .filter(|o| o.active)
        .map(|o| (o.bucket_start, o.quantity))
        .collect();
    Ok(ItemHistory {
        item: item.to_string(),
        versions: per_version
            .into_iter()
            .map(|(v, by_bucket)| VersionSeries {
                import_id: v.id,
                version: v.version,
                status: v.status,
                quantities: buckets
                    .iter()
                    .map(|b| by_bucket.get(b).map(|(_, q)| q.clone()))
                    .collect(),
            })
            .collect(),
        overrides: buckets.iter().map(|b| active.get(b).cloned()).collect(),
        buckets,
        location,
        locations,
    })
}

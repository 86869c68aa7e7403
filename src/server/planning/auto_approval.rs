//! Approval by rule (issue 14): a source's versions whose every bucket changed within the
//! configured limits against the previous approved version are approved without a
//! planner, through the same [`super::approve_as`] a planner's approval takes. A version
//! with no approved one before it waits for a planner. The limits are set per source, or
//! for every source as `*`.

use super::{approve_as, changed_sql, latest_approved, may_plan, Approver, Changed, PlanningError};
use crate::domain::planning_rules::AutoApproveLimits;
use crate::model::planning_items::AutoApprovalRule;
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::Quantity;
use crate::server::db::{self, Db};

/// The source that stands for every source without limits of its own.
pub const EVERY_SOURCE: &str = "*";

type RuleRow = (String, Option<String>, Option<String>);

fn limits_of(row: &RuleRow) -> Option<AutoApproveLimits> {
    AutoApproveLimits::parse(
        row.1.as_deref().unwrap_or_default(),
        row.2.as_deref().unwrap_or_default(),
    )
    .ok()
    .flatten()
}

/// Every source's limits, by source.
pub async fn rules(db: &Db, user: &CurrentUser) -> Result<Vec<AutoApprovalRule>, PlanningError> {
    may_plan(user)?;
    let rows: Vec<RuleRow> = sqlx::query_as(
        "SELECT source, max_percent, max_absolute FROM planning_auto_approval ORDER BY source",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AutoApprovalRule {
            describe: limits_of(&r)
                .map(|l| l.describe())
                .unwrap_or_else(|| "off".into()),
            source: r.0,
            max_percent: r.1,
            max_absolute: r.2,
        })
        .collect())
}

/// Sets a source's limits; both empty turns its rule off.
pub async fn set_rule(
    db: &Db,
    user: &CurrentUser,
    source: &str,
    max_percent: &str,
    max_absolute: &str,
    ip: &str,
) -> Result<String, PlanningError> {
    may_plan(user)?;
    let source = source.trim();
    let source = if source.is_empty() {
        EVERY_SOURCE
    } else {
        source
    };
    if source.chars().count() > 80 || source.chars().any(char::is_control) {
        return Err(PlanningError::Invalid(
            "Name the source as its snapshots do (1 to 80 characters), or * for every source."
                .into(),
        ));
    }
    let limits =
        AutoApproveLimits::parse(max_percent, max_absolute).map_err(PlanningError::Invalid)?;
    let mut tx = db::write(db).await?;
    let message = match limits {
        None => {
            sqlx::query("DELETE FROM planning_auto_approval WHERE source = $1")
                .bind(source)
                .execute(&mut *tx)
                .await?;
            format!("Versions from {source} wait for a planner's approval.")
        }
        Some(l) => {
            sqlx::query(
                "INSERT INTO planning_auto_approval (source, max_percent, max_absolute, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (source) DO UPDATE SET max_percent = excluded.max_percent, max_absolute = excluded.max_absolute, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(l.max_percent.map(|d| d.to_string()))
            .bind(l.max_absolute.map(|d| d.to_string()))
            .bind(user.id)
            .bind(db::now())
            .execute(&mut *tx)
            .await?;
            format!(
                "Versions from {source} are approved when every change is {}.",
                l.describe()
            )
        }
    };
    audit(
        &mut *tx,
        Some(user.id),
        "planning_auto_approval_set",
        &format!("planning_source:{source}"),
        &message,
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(message)
}

/// The limits that apply to `source`: its own, else every source's.
async fn limits_for(db: &Db, source: &str) -> Result<Option<AutoApproveLimits>, sqlx::Error> {
    let rows: Vec<RuleRow> = sqlx::query_as(
        "SELECT source, max_percent, max_absolute FROM planning_auto_approval WHERE source = $1 OR source = $2",
    )
    .bind(source)
    .bind(EVERY_SOURCE)
    .fetch_all(db)
    .await?;
    let own = rows.iter().find(|r| r.0 == source);
    let every = rows.iter().find(|r| r.0 == EVERY_SOURCE);
    Ok(own.or(every).and_then(limits_of))
}

/// After a snapshot became a new version: approves it by rule when its source has limits,
/// an approved version came before, and every bucket's change is within the limits. The
/// rule's description when it did.
pub async fn consider(
    db: &Db,
    sender: &CurrentUser,
    import_id: i64,
    ip: &str,
    rfqs: bool,
) -> Result<Option<String>, PlanningError> {
    let row: Option<(String, String, Option<i64>, String)> =
        sqlx::query_as("SELECT kind, source, version, status FROM planning_imports WHERE id = $1")
            .bind(import_id)
            .fetch_optional(db)
            .await?;
    let Some((kind, source, Some(version), status)) = row else {
        return Ok(None);
    };
    if status != "valid" {
        return Ok(None);
    }
    let Some(limits) = limits_for(db, &source).await? else {
        return Ok(None);
    };
    let Some((previous, _)) = latest_approved(db, &kind, Some(version)).await? else {
        return Ok(None);
    };
    let changes: Vec<Changed> = sqlx::query_as(&changed_sql(&kind))
        .bind(import_id)
        .bind(previous)
        .fetch_all(db)
        .await?;
    if !changes.iter().all(|c| {
        limits.within(
            c.previous_quantity.map(Quantity::get),
            c.new_quantity.map(Quantity::get),
        )
    }) {
        return Ok(None);
    }
    let rule = limits.describe();
    approve_as(
        db,
        Approver::Rule {
            sender,
            rule: rule.clone(),
        },
        import_id,
        ip,
        None,
        rfqs,
    )
    .await?;
    tracing::info!(import = import_id, %rule, "planning version approved by rule");
    Ok(Some(rule))
}

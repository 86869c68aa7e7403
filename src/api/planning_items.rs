//! Demand planning per item for planners (and admins): one item's forecast across versions,
//! a version's overrides, and the auto-approval rules. Reads only: their forms post as plain
//! HTML to `server::planning::override_forms`.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::model::planning_items::{AutoApprovalRule, ItemHistory, VersionOverrides};

/// One item at a location (empty: its first) across the latest forecast versions.
#[server(endpoint = "planning/item", input = GetUrl)]
pub async fn planning_item(item: String, location: String) -> Result<ItemHistory, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    crate::server::planning::history::item_history(&state.db, &user, &item, &location)
        .await
        .map_err(|e| context::action(e, "No forecast version holds this item at this location."))
}

/// A forecast version's overridden buckets and every override.
#[server(endpoint = "planning/overrides", input = GetUrl)]
pub async fn planning_overrides(id: i64) -> Result<VersionOverrides, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    let clock = user.clock();
    let mut v = crate::server::planning::overrides::for_version(&state.db, &user, id)
        .await
        .map_err(|e| context::action(e, "No such version."))?;
    for o in &mut v.overrides {
        o.created_at = clock.datetime(&o.created_at);
    }
    Ok(v)
}

/// Every source's auto-approval limits.
#[server(endpoint = "planning/rules", input = GetUrl)]
pub async fn planning_rules() -> Result<Vec<AutoApprovalRule>, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    crate::server::planning::auto_approval::rules(&state.db, &user)
        .await
        .map_err(|e| context::action(e, "No such page."))
}

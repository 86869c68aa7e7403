//! Demand planning for planners (and admins): the versions, one version's report and
//! changes, and the mapping. Reads only: the planning pages' forms post as plain HTML to
//! `server::planning::forms` (a multipart upload cannot be a server function's form).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::model::planning::{ImportSummary, MappingView, VersionDetail};

#[cfg(feature = "ssr")]
fn present(clock: &crate::server::time::UserClock, mut i: ImportSummary) -> ImportSummary {
    i.sent_at = clock.datetime(&i.sent_at);
    i.approved_at = clock.opt(i.approved_at);
    i
}

/// Every snapshot, newest first.
#[server(endpoint = "planning/versions", input = GetUrl)]
pub async fn planning_versions() -> Result<Vec<ImportSummary>, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    let clock = user.clock();
    let list = crate::server::planning::list(&state.db, &user)
        .await
        .map_err(|e| context::action(e, "No such page."))?;
    Ok(list.into_iter().map(|i| present(&clock, i)).collect())
}

/// One snapshot: its report, or its changes against the previous approved version;
/// `threshold`: the change in percent that is highlighted (empty: the default).
#[server(endpoint = "planning/version", input = GetUrl)]
pub async fn planning_version(id: i64, threshold: String) -> Result<VersionDetail, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    let threshold = match threshold.trim() {
        "" => rust_decimal::Decimal::from(crate::server::planning::DEFAULT_THRESHOLD_PERCENT),
        t => t
            .parse::<rust_decimal::Decimal>()
            .ok()
            .filter(|t| !t.is_sign_negative())
            .ok_or_else(|| context::invalid("The threshold is a percentage, e.g. 20."))?,
    };
    let mut detail = crate::server::planning::detail(&state.db, &user, id, threshold)
        .await
        .map_err(|e| context::action(e, "No such snapshot."))?;
    detail.import = present(&user.clock(), detail.import);
    Ok(detail)
}

/// What the latest rejected snapshot could not map, and every mapping.
#[server(endpoint = "planning/mapping", input = GetUrl)]
pub async fn planning_mapping() -> Result<MappingView, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    let mut view = crate::server::planning::mapping_view(&state.db, &user)
        .await
        .map_err(|e| context::action(e, "No such page."))?;
    view.latest_rejected = view.latest_rejected.map(|i| present(&user.clock(), i));
    Ok(view)
}

/// The scheduled pulls (planners see them, admins change them).
#[server(endpoint = "planning/pulls", input = GetUrl)]
pub async fn planning_pulls() -> Result<crate::model::pulls::PullsPage, AppError> {
    use super::context;
    let user = context::planner_user()?;
    let state = context::state()?;
    let clock = user.clock();
    let mut page = crate::server::planning::pull::list(&state.db, &user)
        .await
        .map_err(|e| context::action(e, "No such page."))?;
    for p in &mut page.pulls {
        p.next_due_at = clock.datetime(&p.next_due_at);
        p.last_attempt_at = clock.opt(p.last_attempt_at.take());
        p.last_success_at = clock.opt(p.last_success_at.take());
    }
    Ok(page)
}

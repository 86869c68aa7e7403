//! Demand signals for buyers, planners and admins: what an approved version asked of Odoo
//! and what came of it. Read only: the decisions post as plain forms to
//! `server::planning::push::decide_form`.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::AppError;
use crate::model::planning_push::SignalView;

/// A version's signals (`id`: the version's snapshot id).
#[server(endpoint = "planning/signals", input = GetUrl)]
pub async fn planning_signals(id: i64) -> Result<Vec<SignalView>, AppError> {
    use super::context;
    let user = context::internal_user()?;
    let state = context::state()?;
    let clock = user.clock();
    let list = crate::server::planning::push::signals_page(&state.db, &user, id)
        .await
        .map_err(|e| context::action(e, "No such version."))?;
    Ok(list
        .into_iter()
        .map(|mut s| {
            s.applied_at = clock.opt(s.applied_at);
            s
        })
        .collect())
}

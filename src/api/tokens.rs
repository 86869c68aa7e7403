//! API tokens on the team pages: an organisation's admin (or an admin for it) creates a
//! token for one of the organisation's systems, sees it once, and revokes it.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// The token's first characters.
    pub prefix: String,
    /// Labels of what it may do.
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokensView {
    pub tokens: Vec<TokenView>,
    /// (form field, label) of each scope.
    pub scopes: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub message: String,
    /// Shown once; None when the request repeated one that created it already.
    pub secret: Option<String>,
}

/// The form field of a scope: its code with `_` for `:`.
pub fn scope_field(code: &str) -> String {
    code.replace(':', "_")
}

/// `supplier`: the organisation (admins); supplier admins always get their own.
#[server(endpoint = "tokens/list", input = GetUrl)]
pub async fn api_tokens(supplier: String) -> Result<TokensView, AppError> {
    use super::context;
    use crate::server::tokens::Scope;
    let user = context::user()?;
    let state = context::state()?;
    let org = organisation(&user, &supplier)?;
    let tokens = crate::server::tokens::list(&state.db, &user, org)
        .await
        .map_err(|e| super::admin::action_error(e, "No such organisation."))?;
    Ok(TokensView {
        tokens: tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                prefix: t.prefix,
                scopes: t.scopes.iter().map(|s| s.label().to_string()).collect(),
                created_by: t.created_by,
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect(),
        scopes: Scope::offered(org)
            .iter()
            .map(|s| (scope_field(s.code()), s.label().to_string()))
            .collect(),
    })
}

/// Tokens belong to an organisation: admins name it, supplier admins have theirs.
#[cfg(feature = "ssr")]
fn organisation(
    user: &crate::server::auth::CurrentUser,
    supplier: &str,
) -> Result<Option<i64>, AppError> {
    use crate::server::auth::session::Role;
    match user.role {
        Role::SupplierAdmin => Ok(user.supplier_id),
        // Empty: the staff's own integrations (e.g. the planning system).
        Role::Admin if supplier.trim().is_empty() => Ok(None),
        Role::Admin => supplier
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| super::context::invalid("Choose the organisation the token is for.")),
        _ => Err(super::context::forbidden()),
    }
}

/// Scopes are checkboxes (present when ticked); `expires_in_days` empty means never.
#[allow(clippy::too_many_arguments)] // one argument per field of the form
#[server(endpoint = "tokens/create")]
pub async fn create_api_token(
    csrf_token: String,
    supplier: String,
    name: String,
    orders_read: Option<String>,
    orders_write: Option<String>,
    shipments_read: Option<String>,
    shipments_write: Option<String>,
    events_read: Option<String>,
    planning_write: Option<String>,
    exceptions_read: Option<String>,
    planning_read: Option<String>,
    expires_in_days: String,
    idempotency_key: Option<String>,
) -> Result<CreatedToken, AppError> {
    use super::context;
    use crate::server::tokens::Scope;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    let org = organisation(&user, &supplier)?;
    let ticked = [
        (orders_read, Scope::OrdersRead),
        (orders_write, Scope::OrdersWrite),
        (shipments_read, Scope::ShipmentsRead),
        (shipments_write, Scope::ShipmentsWrite),
        (events_read, Scope::EventsRead),
        (planning_write, Scope::PlanningWrite),
        (exceptions_read, Scope::ExceptionsRead),
        (planning_read, Scope::PlanningRead),
    ];
    let scopes: Vec<Scope> = ticked
        .into_iter()
        .filter(|(v, _)| v.is_some())
        .map(|(_, s)| s)
        .collect();
    let days = match expires_in_days.trim() {
        "" => None,
        d => Some(d.parse::<i64>().map_err(|_| {
            context::invalid("Expiry: a number of days, or empty for a token that does not expire.")
        })?),
    };
    let created = crate::server::tokens::create(
        &state.db,
        &user,
        org,
        &name,
        &scopes,
        days,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| super::admin::action_error(e, "No such organisation."))?;
    Ok(CreatedToken {
        message: created.outcome.message,
        secret: created.secret,
    })
}

#[server(endpoint = "tokens/revoke")]
pub async fn revoke_api_token(
    csrf_token: String,
    token_id: i64,
    idempotency_key: Option<String>,
) -> Result<crate::domain::outcome::Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    crate::server::tokens::revoke(
        &state.db,
        &user,
        token_id,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| super::admin::action_error(e, "No such token among yours."))
}

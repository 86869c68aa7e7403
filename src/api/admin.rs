//! Onboarding: supplier organisations linked to Odoo vendors and their settings (admins),
//! teams by invitation with deactivation (admins for everyone, supplier admins for their
//! own organisation), and the audit log (admins).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;
use crate::domain::outcome::Outcome;
use crate::model::admin::{AuditEntry, SupplierSettings, TeamMember, UndeliveredMail, VendorHit};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuppliersView {
    pub suppliers: Vec<SupplierSettings>,
    /// The vendor search's results, when a search was made.
    pub hits: Option<Vec<VendorHit>>,
    /// Why the search could not be made (Odoo down, not configured).
    pub search_problem: Option<String>,
    /// The global defaults, shown beside empty per-supplier fields.
    pub defaults: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    /// The organisation's name, or None for the staff.
    pub organisation: Option<String>,
    pub supplier_id: Option<i64>,
    pub members: Vec<TeamMember>,
    /// (role code, label) the viewer may give here.
    pub roles: Vec<(String, String)>,
    /// The viewer's own id (no deactivate button on one's own row).
    pub viewer_id: i64,
    /// For an organisation: its mail preferences.
    pub mail: Option<OrganisationMail>,
    /// For the staff, seen by an admin: the companies of synced orders (Odoo id, name), to
    /// limit buyers to some of them. Empty when there is nothing to choose.
    pub companies: Vec<(i64, String)>,
}

/// An organisation's mail preferences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrganisationMail {
    /// Its users may get order mails (each still chooses on /account).
    pub notify_orders: bool,
    /// A shared mailbox that gets a copy of every order mail; empty for none.
    pub copy_to: String,
}

#[cfg(feature = "ssr")]
pub(crate) fn action_error(e: crate::server::orders::ActionError, missing: &str) -> AppError {
    super::context::action(e, missing)
}

/// Why vendors cannot be searched or linked right now.
#[cfg(feature = "ssr")]
const NO_ODOO: &str =
    "The portal is not connected to Odoo: see Odoo connection (/admin/odoo) for why.";

/// The organisations, and Odoo's vendors matching `q` when it is not empty.
#[server(endpoint = "admin/suppliers", input = GetUrl)]
pub async fn admin_suppliers(q: String) -> Result<SuppliersView, AppError> {
    use super::context;
    use crate::server::admin::VendorSearchError;
    context::admin_user()?;
    let state = context::state()?;
    let suppliers = crate::server::admin::suppliers(&state.db)
        .await
        .map_err(context::internal)?;
    let (mut hits, mut search_problem) = (None, None);
    if q.trim().chars().count() >= 2 {
        match state.odoo.client() {
            None => search_problem = Some(NO_ODOO.into()),
            Some(odoo) => match crate::server::admin::search_vendors(&state.db, &odoo, &q).await {
                Ok(h) => hits = Some(h),
                Err(VendorSearchError::Odoo(e)) => {
                    search_problem = Some(format!(
                        "Odoo did not answer the search: {e}. Try again in a moment."
                    ))
                }
                Err(VendorSearchError::Db(e)) => return Err(context::internal(e)),
            },
        }
    } else if !q.trim().is_empty() {
        search_problem = Some("Type at least two letters of the vendor's name.".into());
    }
    let t = &state.settings.tolerance;
    Ok(SuppliersView {
        suppliers,
        hits,
        search_problem,
        defaults: format!(
            "acknowledge within {} h, dates ±{} days, quantities ±{} %, over-delivery {} %",
            state.settings.ack_window_hours,
            t.date_days,
            t.quantity_percent,
            state.settings.over_delivery_percent
        ),
    })
}

/// Creates the organisation for an Odoo vendor; returns its id.
#[server(endpoint = "admin/link-vendor")]
pub async fn link_vendor(
    csrf_token: String,
    partner_id: i64,
    idempotency_key: Option<String>,
) -> Result<i64, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::admin_user()?;
    let state = context::state()?;
    let odoo = state
        .odoo
        .client()
        .ok_or_else(|| context::invalid(NO_ODOO))?;
    let (id, _) = crate::server::admin::link_vendor(
        &state.db,
        &odoo,
        &user,
        partner_id,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| action_error(e, "No such partner."))?;
    // Its orders are read at once; on several instances the poller's holder is asked.
    state.poll_wake.notify_one();
    leptos_axum::redirect(&format!("/admin/suppliers/{id}"));
    Ok(id)
}

#[server(endpoint = "admin/supplier", input = GetUrl)]
pub async fn supplier_detail(id: i64) -> Result<SupplierSettings, AppError> {
    use super::context;
    context::admin_user()?;
    let state = context::state()?;
    crate::server::admin::suppliers(&state.db)
        .await
        .map_err(context::internal)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| context::not_found("No such supplier organisation."))
}

/// Empty fields mean "the global default".
#[server(endpoint = "admin/supplier-settings")]
pub async fn update_supplier_settings(
    csrf_token: String,
    supplier_id: i64,
    ack_window_hours: String,
    date_tolerance_days: String,
    quantity_tolerance_percent: String,
    over_delivery_percent: String,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::admin_user()?;
    let state = context::state()?;
    crate::server::admin::update_settings(
        &state.db,
        &user,
        supplier_id,
        &crate::server::admin::SettingsInput {
            ack_window_hours: &ack_window_hours,
            date_tolerance_days: &date_tolerance_days,
            quantity_tolerance_percent: &quantity_tolerance_percent,
            over_delivery_percent: &over_delivery_percent,
        },
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| action_error(e, "No such supplier organisation."))
}

/// The team the viewer manages: `supplier` (an organisation id) for admins, empty for the
/// staff; supplier admins always see their own organisation.
#[server(endpoint = "team/list", input = GetUrl)]
pub async fn team(supplier: String) -> Result<TeamView, AppError> {
    use super::context;
    use crate::server::auth::session::Role;
    let user = context::user()?;
    let state = context::state()?;
    let scope = crate::server::admin::team_scope(&user, supplier.trim().parse().ok())
        .map_err(|_| context::forbidden())?;
    let organisation = match scope {
        Some(org) => Some(
            crate::server::admin::suppliers(&state.db)
                .await
                .map_err(context::internal)?
                .into_iter()
                .find(|s| s.id == org)
                .map(|s| s.name)
                .ok_or_else(|| context::not_found("No such supplier organisation."))?,
        ),
        None => None,
    };
    let members = crate::server::admin::team(&state.db, scope)
        .await
        .map_err(context::internal)?;
    let mail = match scope {
        Some(org) => crate::server::admin::organisation_mail(&state.db, org)
            .await
            .map_err(context::internal)?
            .map(|(notify_orders, copy_to)| OrganisationMail {
                notify_orders,
                copy_to,
            }),
        None => None,
    };
    let companies = if scope.is_none() && user.role == Role::Admin {
        crate::server::companies::known(&state.db)
            .await
            .map_err(context::internal)?
            .into_iter()
            .map(|c| (c.odoo_id, c.name))
            .collect()
    } else {
        Vec::new()
    };
    let roles = if scope.is_some() {
        vec![Role::SupplierUser, Role::SupplierAdmin]
    } else {
        vec![Role::Buyer, Role::Planner, Role::Admin]
    };
    Ok(TeamView {
        organisation,
        supplier_id: scope,
        members,
        roles: roles
            .into_iter()
            .map(|r| (r.code().to_string(), role_label(r.code()).to_string()))
            .collect(),
        viewer_id: user.id,
        mail,
        companies,
    })
}

/// An organisation's mail preferences: admins for any (`supplier`), a supplier admin for
/// its own. `notify_orders` is a checkbox (present when ticked).
#[server(endpoint = "team/mail")]
pub async fn update_organisation_mail(
    csrf_token: String,
    supplier: String,
    notify_orders: Option<String>,
    copy_to: String,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    // Buyers and supplier users manage no organisation.
    crate::server::admin::team_scope(&user, None).map_err(|_| context::forbidden())?;
    crate::server::admin::set_organisation_mail(
        &state.db,
        &user,
        supplier.trim().parse().ok(),
        notify_orders.is_some(),
        &copy_to,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| action_error(e, "No such supplier organisation."))
}

/// What a role is called on screen.
pub fn role_label(code: &str) -> &'static str {
    match code {
        "supplier_admin" => "Supplier admin (invites colleagues)",
        "supplier_user" => "Supplier user",
        "buyer" => "Buyer",
        "admin" => "Admin",
        "planner" => "Planner (demand planning)",
        _ => "Unknown role",
    }
}

#[server(endpoint = "team/invite")]
pub async fn invite_user(
    csrf_token: String,
    supplier: String,
    email: String,
    display_name: String,
    role: String,
    idempotency_key: Option<String>,
) -> Result<String, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    crate::server::admin::invite(
        &state.db,
        &user,
        &crate::server::admin::Invitation {
            email: &email,
            display_name: &display_name,
            role: &role,
            supplier_id: supplier.trim().parse().ok(),
        },
        &state.settings.public_url,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| action_error(e, "No such supplier organisation."))?;
    Ok(format!(
        "Invitation sent to {}; the link is valid {} days.",
        email.trim().to_lowercase(),
        crate::server::admin::INVITATION_VALID_DAYS
    ))
}

/// Deactivating ends every session of the user at once.
#[server(endpoint = "team/set-active")]
pub async fn set_user_active(
    csrf_token: String,
    user_id: i64,
    active: bool,
    idempotency_key: Option<String>,
) -> Result<Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    crate::server::admin::set_active(
        &state.db,
        &user,
        user_id,
        active,
        &context::client_ip(),
        idempotency_key.as_deref(),
    )
    .await
    .map_err(|e| action_error(e, "No such user among those you manage."))
}

/// Newest first; `action` and `actor` match parts, `from`/`to` are days (YYYY-MM-DD).
#[server(endpoint = "admin/audit", input = GetUrl)]
pub async fn audit_entries(
    action: String,
    actor: String,
    from: String,
    to: String,
) -> Result<Vec<AuditEntry>, AppError> {
    use super::context;
    let user = context::admin_user()?;
    let state = context::state()?;
    crate::server::admin::audit_log(&state.db, &user, &action, &actor, &from, &to)
        .await
        .map_err(|e| action_error(e, "Not found."))
}

/// Mail the mail server refused for good (admins).
#[server(endpoint = "admin/mail/undelivered", input = GetUrl)]
pub async fn list_undelivered_mail() -> Result<Vec<UndeliveredMail>, AppError> {
    use super::context;
    context::admin_user()?;
    let state = context::state()?;
    crate::server::notify::undelivered(&state.db)
        .await
        .map_err(context::internal)
}

/// Sends the undelivered mail again (admins; audited).
#[server(endpoint = "admin/mail/replay")]
pub async fn replay_undelivered_mail(csrf_token: String) -> Result<Outcome, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::admin_user()?;
    let state = context::state()?;
    let done = crate::server::notify::replay_undelivered(&state.db, &user, &context::client_ip())
        .await
        .map_err(context::internal)?;
    state.wake_jobs();
    Ok(done)
}

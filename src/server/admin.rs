//! Bringing suppliers in: organisations linked to Odoo vendors, their settings, users by
//! invitation (and the first admin, from the command line), deactivation, and the audit
//! log. Who may do what is decided here (the server functions only pass the signed-in user
//! through; `millrace admin create` is run by whoever holds the database URL):
//! - admins: everything;
//! - supplier admins: invite, deactivate and reactivate users of their own organisation,
//!   as supplier users or supplier admins;
//! - everyone else: nothing here.

use serde_json::{json, Value};

use crate::domain::outcome::Outcome;
use crate::model::admin::{AuditEntry, SupplierSettings, TeamMember, VendorHit};
use crate::server::auth::reset;
use crate::server::auth::session::Role;
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::typed::Flag;
use crate::server::db::{self, Db};
use crate::server::idempotency::Submission;
use crate::server::odoo::client::SearchOptions;
use crate::server::odoo::value::{many2one, text};
use crate::server::odoo::{OdooClient, OdooError};
use crate::server::orders::{like, ActionError};

/// How long an invitation link stays valid.
pub const INVITATION_VALID_DAYS: i64 = 7;
/// How long the link printed by `millrace admin create` stays valid.
pub const FIRST_ADMIN_LINK_VALID_HOURS: i64 = 24;

fn admin_only(user: &CurrentUser) -> Result<(), ActionError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ActionError::NotFound)
    }
}

/// A supplier, its settings (unset: the default) and how many active users and visible
/// orders it has.
#[derive(sqlx::FromRow)]
struct SupplierSettingsRow {
    id: i64,
    name: String,
    odoo_partner_id: i64,
    ack_window_hours: Option<i64>,
    date_tolerance_days: Option<i64>,
    quantity_tolerance_percent: Option<String>,
    over_delivery_percent: Option<String>,
    active_users: i64,
    visible_orders: i64,
}

pub async fn suppliers(db: &Db) -> Result<Vec<SupplierSettings>, sqlx::Error> {
    let rows: Vec<SupplierSettingsRow> = sqlx::query_as(
        "SELECT s.id, s.name, s.odoo_partner_id, s.ack_window_hours, s.date_tolerance_days,
                s.quantity_tolerance_percent, s.over_delivery_percent,
                (SELECT COUNT(*) FROM users u WHERE u.supplier_id = s.id AND u.active = TRUE) AS active_users,
                (SELECT COUNT(*) FROM purchase_orders o WHERE o.supplier_id = s.id AND o.visible = TRUE) AS visible_orders
         FROM suppliers s ORDER BY s.name, s.id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SupplierSettings {
            id: r.id,
            name: r.name,
            odoo_partner_id: r.odoo_partner_id,
            ack_window_hours: r
                .ack_window_hours
                .map(|v| v.to_string())
                .unwrap_or_default(),
            date_tolerance_days: r
                .date_tolerance_days
                .map(|v| v.to_string())
                .unwrap_or_default(),
            quantity_tolerance_percent: r.quantity_tolerance_percent.unwrap_or_default(),
            over_delivery_percent: r.over_delivery_percent.unwrap_or_default(),
            active_users: r.active_users,
            visible_orders: r.visible_orders,
        })
        .collect())
}

/// Why a vendor search found nothing to show.
#[derive(Debug)]
pub enum VendorSearchError {
    /// Odoo did not answer (or refused): worth trying again.
    Odoo(OdooError),
    /// The portal's own database failed reading which vendors are linked: our fault.
    Db(sqlx::Error),
}

/// Vendors in Odoo whose name matches `q` (companies only), and whether each is linked.
pub async fn search_vendors(
    db: &Db,
    odoo: &OdooClient,
    q: &str,
) -> Result<Vec<VendorHit>, VendorSearchError> {
    let linked: Vec<(i64, i64)> = sqlx::query_as("SELECT odoo_partner_id, id FROM suppliers")
        .fetch_all(db)
        .await
        .map_err(VendorSearchError::Db)?;
    let hits = odoo
        .search_read(
            "res.partner",
            json!([["is_company", "=", true], ["name", "ilike", q.trim()]]),
            &["name", "city", "email", "supplier_rank"],
            SearchOptions {
                order: Some("supplier_rank desc, name asc"),
                limit: Some(20),
                offset: None,
            },
        )
        .await
        .map_err(VendorSearchError::Odoo)?;
    Ok(hits
        .into_iter()
        .filter_map(|h| {
            let id = h.get("id").and_then(Value::as_i64)?;
            Some(VendorHit {
                odoo_partner_id: id,
                name: text(h.get("name")).unwrap_or_default(),
                city: text(h.get("city")).unwrap_or_default(),
                email: text(h.get("email")).unwrap_or_default(),
                is_vendor: h.get("supplier_rank").and_then(Value::as_i64).unwrap_or(0) > 0,
                linked_supplier_id: linked.iter().find(|(p, _)| *p == id).map(|(_, s)| *s),
            })
        })
        .collect())
}

/// Creates the organisation for Odoo partner `partner_id`'s commercial entity (a contact
/// person links its company): one organisation per commercial partner. The poller's
/// cursor is reset so that the new organisation's existing orders are read.
pub async fn link_vendor(
    db: &Db,
    odoo: &OdooClient,
    user: &CurrentUser,
    partner_id: i64,
    ip: &str,
    key: Option<&str>,
) -> Result<(i64, String), ActionError> {
    admin_only(user)?;
    let submission = Submission::new(user.id, key, "link_vendor", &partner_id)?;
    let partner = odoo
        .read(
            "res.partner",
            &[partner_id],
            &["name", "commercial_partner_id"],
        )
        .await
        .map_err(|e| ActionError::Invalid(format!("Odoo did not answer ({e}); try again.")))?;
    let Some(partner) = partner.first() else {
        return Err(ActionError::Invalid(format!(
            "Odoo has no partner {partner_id} any more."
        )));
    };
    let (company_id, company_name) = many2one(partner.get("commercial_partner_id"))
        .unwrap_or((partner_id, text(partner.get("name")).unwrap_or_default()));
    let mut tx = db::write(db).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM suppliers WHERE odoo_partner_id = $1")
            .bind(company_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((_, name)) = existing {
        return Err(ActionError::Invalid(format!(
            "{company_name} is linked already, as the organisation “{name}”."
        )));
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO suppliers (name, odoo_partner_id, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&company_name)
    .bind(company_id)
    .bind(db::now())
    .fetch_one(&mut *tx)
    .await?;
    crate::server::sync::poller::reset_cursor(&mut tx).await?;
    audit(
        &mut *tx,
        Some(user.id),
        "supplier_linked",
        &format!("supplier:{id}"),
        &format!("{company_name} (Odoo partner {company_id})"),
        ip,
    )
    .await?;
    let linked = (id, company_name);
    submission.record(&mut tx, &linked).await?;
    tx.commit().await?;
    Ok(linked)
}

/// What an admin may change about an organisation; an empty field means the global default.
pub struct SettingsInput<'a> {
    pub ack_window_hours: &'a str,
    pub date_tolerance_days: &'a str,
    pub quantity_tolerance_percent: &'a str,
    pub over_delivery_percent: &'a str,
}

/// An organisation's settings as stored (unset: the global default).
#[derive(PartialEq, sqlx::FromRow)]
struct SettingsRow {
    ack_window_hours: Option<i64>,
    date_tolerance_days: Option<i64>,
    quantity_tolerance_percent: Option<String>,
    over_delivery_percent: Option<String>,
}

/// Sets an organisation's policy; the settings in force already change nothing (no audit
/// entry either).
pub async fn update_settings(
    db: &Db,
    user: &CurrentUser,
    supplier_id: i64,
    input: &SettingsInput<'_>,
    ip: &str,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    admin_only(user)?;
    let mut problems = Vec::new();
    let whole = |v: &str, what: &str, max: i64, problems: &mut Vec<String>| -> Option<i64> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => Some(n),
            _ => {
                problems.push(format!("{what} must be a whole number from 0 to {max}"));
                None
            }
        }
    };
    let percent = |v: &str, what: &str, problems: &mut Vec<String>| -> Option<String> {
        let v = v.trim().trim_end_matches('%').trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<rust_decimal::Decimal>() {
            Ok(d)
                if d >= rust_decimal::Decimal::ZERO && d <= rust_decimal::Decimal::ONE_HUNDRED =>
            {
                Some(d.normalize().to_string())
            }
            _ => {
                problems.push(format!("{what} must be a percentage from 0 to 100"));
                None
            }
        }
    };
    let ack = whole(
        input.ack_window_hours,
        "The acknowledgment window",
        24 * 30,
        &mut problems,
    );
    let days = whole(
        input.date_tolerance_days,
        "The date tolerance",
        365,
        &mut problems,
    );
    let qty = percent(
        input.quantity_tolerance_percent,
        "The quantity tolerance",
        &mut problems,
    );
    let over = percent(
        input.over_delivery_percent,
        "The over-delivery allowance",
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(ActionError::Invalid(format!("{}.", problems.join("; "))));
    }
    let submission = Submission::new(
        user.id,
        key,
        "update_settings",
        &(supplier_id, ack, days, &qty, &over),
    )?;
    let mut tx =
        db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::supplier(supplier_id)]))
            .await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let current: Option<SettingsRow> = sqlx::query_as(
        "SELECT ack_window_hours, date_tolerance_days, quantity_tolerance_percent, over_delivery_percent FROM suppliers WHERE id = $1",
    )
    .bind(supplier_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(current) = current else {
        return Err(ActionError::NotFound);
    };
    if current
        == (SettingsRow {
            ack_window_hours: ack,
            date_tolerance_days: days,
            quantity_tolerance_percent: qty.clone(),
            over_delivery_percent: over.clone(),
        })
    {
        return Ok(Outcome::already(
            "Nothing to save: these settings are in force already.",
        ));
    }
    sqlx::query(
        "UPDATE suppliers SET ack_window_hours = $1, date_tolerance_days = $2,
                quantity_tolerance_percent = $3, over_delivery_percent = $4 WHERE id = $5",
    )
    .bind(ack)
    .bind(days)
    .bind(&qty)
    .bind(&over)
    .bind(supplier_id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(user.id),
        "supplier_settings_changed",
        &format!("supplier:{supplier_id}"),
        &format!(
            "ack window {} h, date tolerance {} d, quantity tolerance {} %, over-delivery {} %",
            ack.map(|v| v.to_string())
                .unwrap_or_else(|| "default".into()),
            days.map(|v| v.to_string())
                .unwrap_or_else(|| "default".into()),
            qty.as_deref().unwrap_or("default"),
            over.as_deref().unwrap_or("default"),
        ),
        ip,
    )
    .await?;
    let outcome = Outcome::done("Saved.");
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// An organisation's mail preferences (order mails on or off for all its users, and a
/// shared mailbox that gets a copy).
pub async fn organisation_mail(db: &Db, org: i64) -> Result<Option<(bool, String)>, sqlx::Error> {
    let row: Option<(Flag, Option<String>)> =
        sqlx::query_as("SELECT notify_orders, order_mail_copy_to FROM suppliers WHERE id = $1")
            .bind(org)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(on, copy)| (on.0, copy.unwrap_or_default())))
}

/// Sets them: admins for any organisation, a supplier admin for its own (`team_scope`).
pub async fn set_organisation_mail(
    db: &Db,
    user: &CurrentUser,
    asked: Option<i64>,
    notify_orders: bool,
    copy_to: &str,
    ip: &str,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    let Some(org) = team_scope(user, asked)? else {
        return Err(ActionError::NotFound);
    };
    let copy_to = copy_to.trim().to_lowercase();
    if !copy_to.is_empty() && !looks_like_email(&copy_to) {
        return Err(ActionError::Invalid(
            "Give the shared mailbox as one address (orders@company.example), or leave it empty."
                .into(),
        ));
    }
    let submission = Submission::new(
        user.id,
        key,
        "organisation_mail",
        &(org, notify_orders, &copy_to),
    )?;
    let copy = Some(copy_to.clone()).filter(|c| !c.is_empty());
    let mut tx =
        db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::supplier(org)])).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let current: Option<(Flag, Option<String>)> =
        sqlx::query_as("SELECT notify_orders, order_mail_copy_to FROM suppliers WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(current) = current else {
        return Err(ActionError::NotFound);
    };
    if current == (Flag(notify_orders), copy.clone()) {
        return Ok(Outcome::already(
            "Nothing to save: these mail settings are in force already.",
        ));
    }
    sqlx::query("UPDATE suppliers SET notify_orders = $1, order_mail_copy_to = $2 WHERE id = $3")
        .bind(notify_orders)
        .bind(copy)
        .bind(org)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut *tx,
        Some(user.id),
        "organisation_mail_changed",
        &format!("supplier:{org}"),
        &format!(
            "order mails {}; copy to {}",
            if notify_orders { "on" } else { "off" },
            if copy_to.is_empty() {
                "nobody"
            } else {
                &copy_to
            }
        ),
        ip,
    )
    .await?;
    let outcome = Outcome::done("Saved.");
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Whose team `user` may manage: `Some(org)` for an organisation, `None` for the staff
/// (buyers and admins). Supplier admins always get their own organisation.
pub fn team_scope(user: &CurrentUser, asked: Option<i64>) -> Result<Option<i64>, ActionError> {
    match user.role {
        Role::Admin => Ok(asked),
        Role::SupplierAdmin => Ok(user.supplier_id),
        _ => Err(ActionError::NotFound),
    }
}

pub async fn team(db: &Db, scope: Option<i64>) -> Result<Vec<TeamMember>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String, Flag, String)> = match scope {
        Some(org) => sqlx::query_as(
            "SELECT id, email, display_name, role, active, password_hash FROM users WHERE supplier_id = $1 AND kind = 'person' ORDER BY display_name, id",
        )
        .bind(org)
        .fetch_all(db)
        .await?,
        None => sqlx::query_as(
            "SELECT id, email, display_name, role, active, password_hash FROM users WHERE supplier_id IS NULL AND kind = 'person' ORDER BY display_name, id",
        )
        .fetch_all(db)
        .await?,
    };
    // The staff's company limits (`server::companies`), in one query.
    let limits: Vec<(i64, i64)> = if scope.is_none() {
        sqlx::query_as(
            "SELECT user_id, company_odoo_id FROM staff_companies ORDER BY user_id, company_odoo_id",
        )
        .fetch_all(db)
        .await?
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .map(|(id, email, name, role, active, hash)| TeamMember {
            id,
            email,
            display_name: name,
            role,
            active: active.0,
            invitation_pending: hash.is_empty(),
            companies: limits
                .iter()
                .filter(|(user, _)| *user == id)
                .map(|(_, company)| *company)
                .collect(),
        })
        .collect())
}

pub struct Invitation<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    /// The organisation for supplier roles; ignored for staff roles.
    pub supplier_id: Option<i64>,
}

/// Creates the account without a password and mails a single-use link, valid
/// [`INVITATION_VALID_DAYS`] days, to choose one. Returns the new user's id.
pub async fn invite(
    db: &Db,
    inviter: &CurrentUser,
    invitation: &Invitation<'_>,
    public_url: &str,
    ip: &str,
    key: Option<&str>,
) -> Result<i64, ActionError> {
    let role = Role::from_code(invitation.role)
        .ok_or_else(|| ActionError::Invalid("Choose a role for the new user.".into()))?;
    let supplier_role = matches!(role, Role::SupplierAdmin | Role::SupplierUser);
    let org = match inviter.role {
        Role::Admin if supplier_role => Some(invitation.supplier_id.ok_or_else(|| {
            ActionError::Invalid("A supplier user belongs to an organisation.".into())
        })?),
        Role::Admin => None,
        Role::SupplierAdmin if supplier_role => inviter.supplier_id,
        Role::SupplierAdmin => {
            return Err(ActionError::Invalid(
                "You can invite colleagues of your own organisation only.".into(),
            ))
        }
        _ => return Err(ActionError::NotFound),
    };
    let (email, name) = new_account_fields(invitation.email, invitation.display_name)?;
    let submission = Submission::new(inviter.id, key, "invite", &(&email, name, role.code(), org))?;
    let mut tx = db::write(db).await?;
    // The same invitation sent twice (a double click, a retry) creates one account and one mail.
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let organisation = match org {
        Some(org) => {
            let known: Option<(String,)> =
                sqlx::query_as("SELECT name FROM suppliers WHERE id = $1")
                    .bind(org)
                    .fetch_optional(&mut *tx)
                    .await?;
            known.ok_or(ActionError::NotFound)?.0
        }
        None => "the purchasing team".to_string(),
    };
    let (user_id, link) = account_with_link(
        &mut tx,
        &email,
        name,
        role,
        org,
        chrono::Duration::days(INVITATION_VALID_DAYS),
        public_url,
    )
    .await?;
    crate::server::notify::queue(
        &mut tx,
        &email,
        "You are invited to the Millrace supplier portal",
        &format!(
            "Hello {name},\n\n{} invited you to the supplier portal, for {organisation}.\nOpen this link within {INVITATION_VALID_DAYS} days to choose your password; it works once:\n\n{link}\n\nThen sign in with {email}.\n",
            inviter.display_name
        ),
    )
    .await?;
    audit(
        &mut *tx,
        Some(inviter.id),
        "user_invited",
        &email,
        &format!(
            "role {}{}",
            role.code(),
            org.map(|o| format!(", supplier:{o}")).unwrap_or_default()
        ),
        ip,
    )
    .await?;
    submission.record(&mut tx, &user_id).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// `millrace admin create`: an admin account without a password and a single-use link,
/// valid [`FIRST_ADMIN_LINK_VALID_HOURS`] hours, to choose one (returned, not mailed: the
/// operator may not have set up mail yet). Audited; refuses an address that has an account.
pub async fn create_admin_from_command_line(
    db: &Db,
    email: &str,
    display_name: &str,
    public_url: &str,
) -> Result<String, ActionError> {
    let (email, name) = new_account_fields(email, display_name)?;
    let mut tx = db::write(db).await?;
    let (user_id, link) = account_with_link(
        &mut tx,
        &email,
        name,
        Role::Admin,
        None,
        chrono::Duration::hours(FIRST_ADMIN_LINK_VALID_HOURS),
        public_url,
    )
    .await?;
    audit(
        &mut *tx,
        None,
        "admin_created",
        &email,
        &format!("user:{user_id}, by the command line (millrace admin create)"),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(link)
}

/// A new account's address (lowercased) and name, or what is wrong with them.
fn new_account_fields<'a>(email: &str, name: &'a str) -> Result<(String, &'a str), ActionError> {
    let email = email.trim().to_lowercase();
    let name = name.trim();
    let mut problems = Vec::new();
    if !looks_like_email(&email) {
        problems.push("Give the person's email address (name@company.example)");
    }
    if name.is_empty() {
        problems.push("Give the person's name, as colleagues know them");
    }
    if problems.is_empty() {
        Ok((email, name))
    } else {
        Err(ActionError::Invalid(format!("{}.", problems.join("; "))))
    }
}

/// Creates an account without a password and a single-use link, valid for `valid`, to
/// choose one; refuses an address that has an account. Returns the user's id and the link.
async fn account_with_link(
    tx: &mut db::Tx<'_>,
    email: &str,
    name: &str,
    role: Role,
    org: Option<i64>,
    valid: chrono::Duration,
    public_url: &str,
) -> Result<(i64, String), ActionError> {
    let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(ActionError::Invalid(format!(
            "{email} has an account already."
        )));
    }
    // No password yet: an empty hash never verifies, so the account cannot sign in until
    // the link is used.
    let (user_id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, display_name, password_hash, role, supplier_id, created_at)
         VALUES ($1, $2, '', $3, $4, $5) RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(role.code())
    .bind(org)
    .bind(db::now())
    .fetch_one(&mut **tx)
    .await?;
    let link =
        reset::issue_link(tx, user_id, reset::Purpose::Invitation, valid, public_url).await?;
    Ok((user_id, link))
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

/// Deactivates (ending every session of the user at once) or reactivates an account. The
/// conditional update decides: an account in that state already changes nothing.
pub async fn set_active(
    db: &Db,
    actor: &CurrentUser,
    user_id: i64,
    active: bool,
    ip: &str,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    if user_id == actor.id {
        return Err(ActionError::Invalid(
            "You cannot deactivate or reactivate your own account.".into(),
        ));
    }
    let submission = Submission::new(actor.id, key, "set_active", &(user_id, active))?;
    let mut tx =
        db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::user(user_id)])).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let target: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT email, supplier_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((email, org)) = target else {
        return Err(ActionError::NotFound);
    };
    let allowed = match actor.role {
        Role::Admin => true,
        Role::SupplierAdmin => org.is_some() && org == actor.supplier_id,
        _ => false,
    };
    if !allowed {
        return Err(ActionError::NotFound);
    }
    let state = if active { "active" } else { "deactivated" };
    // Deactivating also ends every session (the epoch the session was signed in under).
    let r = sqlx::query(
        "UPDATE users SET active = $1, session_epoch = session_epoch + $2 WHERE id = $3 AND active <> $1",
    )
    .bind(active)
    .bind(i64::from(!active))
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(Outcome::already(format!("{email} is {state} already.")));
    }
    audit(
        &mut *tx,
        Some(actor.id),
        if active {
            "user_reactivated"
        } else {
            "user_deactivated"
        },
        &email,
        "",
        ip,
    )
    .await?;
    let outcome = Outcome::done(format!("{email} is {state}."));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    crate::server::auth::session::forget_user(user_id);
    Ok(outcome)
}

/// One audit log entry, with its actor's email (none: the system).
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor: Option<String>,
    action: String,
    target: String,
    detail: String,
    ip: String,
}

/// The audit log, newest first, filtered by action (part of its name), actor email (part)
/// and day range (`YYYY-MM-DD`, inclusive); at most 500 entries.
pub async fn audit_log(
    db: &Db,
    user: &CurrentUser,
    action: &str,
    actor: &str,
    from: &str,
    to: &str,
) -> Result<Vec<AuditEntry>, ActionError> {
    admin_only(user)?;
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let from = day(from)
        .map(|d| format!("{d} 00:00:00"))
        .unwrap_or_default();
    let to = day(to)
        .map(|d| format!("{d} 23:59:59"))
        .unwrap_or_else(|| "9999".into());
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT a.id, a.at, u.email AS actor, a.action, a.target, a.detail, a.ip
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id
         WHERE LOWER(a.action) LIKE $1 ESCAPE '\\' AND ($2 = '' OR LOWER(COALESCE(u.email, '')) LIKE $3 ESCAPE '\\')
           AND a.at >= $4 AND a.at <= $5
         ORDER BY a.id DESC LIMIT 500",
    )
    .bind(like(action))
    .bind(actor.trim())
    .bind(like(actor))
    .bind(&from)
    .bind(&to)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor.unwrap_or_else(|| "—".into()),
            action: r.action,
            target: r.target,
            detail: r.detail,
            ip: r.ip,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_address_needs_a_local_part_and_a_dotted_domain() {
        for ok in ["ana@gemini.example", "a.b+c@x.co"] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ana",
            "@gemini.example",
            "ana@",
            "ana@localhost",
            "ana@.example",
            "a b@x.co",
            "a@x.co,b@y.co",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    fn user(role: Role, supplier: Option<i64>) -> CurrentUser {
        CurrentUser {
            id: 1,
            email: "x@y.example".into(),
            display_name: "X".into(),
            role,
            supplier_id: supplier,
            supplier_name: None,
            time_zone: "UTC".into(),
            companies: Default::default(),
        }
    }

    #[test]
    fn only_admins_and_supplier_admins_manage_a_team_and_a_supplier_admin_only_its_own() {
        assert_eq!(
            team_scope(&user(Role::Admin, None), Some(7)).unwrap(),
            Some(7)
        );
        assert_eq!(team_scope(&user(Role::Admin, None), None).unwrap(), None);
        assert_eq!(
            team_scope(&user(Role::SupplierAdmin, Some(3)), Some(7)).unwrap(),
            Some(3)
        );
        assert!(team_scope(&user(Role::SupplierUser, Some(3)), Some(3)).is_err());
        assert!(team_scope(&user(Role::Buyer, None), None).is_err());
    }
}

//! Staff limited to some companies (issue 16): a buyer of one company does not see another
//! company's orders, exceptions or supplier performance. Admins see every company; a buyer
//! without limits too. Supplier users are scoped by their organisation instead, and their
//! organisation stays linked to one commercial partner shared across companies.
//!
//! An order's company is what Odoo said (`order_headers.company_odoo_id`); an order whose
//! company is unknown (an Odoo without `company_id` on orders) is seen by unlimited staff only.

use crate::domain::outcome::Outcome;
use crate::server::auth::session::Role;
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Db, Tx};
use crate::server::idempotency::Submission;
use crate::server::orders::ActionError;

/// Which companies' orders a member of staff sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum CompanyScope {
    /// Every company (admins, unlimited buyers, and supplier users: their organisation
    /// scopes them).
    #[default]
    All,
    /// Only these companies (Odoo `res.company` ids, never empty).
    Only(Vec<i64>),
}

impl CompanyScope {
    /// An SQL predicate that keeps `order_id` (an expression naming a `purchase_orders.id`)
    /// to this scope; None for `All`. The ids are integers we stored, written into the SQL
    /// as numbers, never text from a request.
    pub fn predicate(&self, order_id: &str) -> Option<String> {
        match self {
            CompanyScope::All => None,
            CompanyScope::Only(ids) => Some(format!(
                "{order_id} IN (SELECT order_id FROM order_headers WHERE company_odoo_id IN ({}))",
                ids.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// [`Self::predicate`] as a condition to append to a WHERE clause (` AND ...`), or "".
    pub fn condition(&self, order_id: &str) -> String {
        self.predicate(order_id)
            .map(|p| format!(" AND {p}"))
            .unwrap_or_default()
    }

    /// A condition (` AND ...`, or "") keeping the shipment notice `notice_id` to this
    /// scope: a notice goes to one destination, so one of its lines' orders decides.
    pub fn notice_condition(&self, notice_id: &str) -> String {
        match self.predicate("l.order_id") {
            None => String::new(),
            Some(p) => format!(
                " AND EXISTS (SELECT 1 FROM shipment_notice_lines sl JOIN purchase_order_lines l ON l.id = sl.line_id WHERE sl.notice_id = {notice_id} AND {p})"
            ),
        }
    }

    pub fn is_limited(&self) -> bool {
        matches!(self, CompanyScope::Only(_))
    }
}

/// The scope of a signed-in user: limits apply to buyers only.
pub async fn scope_of(db: &Db, user_id: i64, role: Role) -> Result<CompanyScope, sqlx::Error> {
    if role != Role::Buyer {
        return Ok(CompanyScope::All);
    }
    let ids = limits(db, user_id).await?;
    Ok(if ids.is_empty() {
        CompanyScope::All
    } else {
        CompanyScope::Only(ids)
    })
}

/// The companies a user is limited to (empty: none, i.e. every company).
pub async fn limits(db: &Db, user_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT company_odoo_id FROM staff_companies WHERE user_id = $1 ORDER BY company_odoo_id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Whether `scope` covers the order `order_id` (inside the caller's transaction, so the
/// check and the action see the same state).
pub async fn covers_order(
    tx: &mut Tx<'_>,
    scope: &CompanyScope,
    order_id: i64,
) -> Result<bool, sqlx::Error> {
    if !scope.is_limited() {
        return Ok(true);
    }
    let found: Option<(i64,)> = sqlx::query_as(&format!(
        "SELECT id FROM purchase_orders WHERE id = $1{}",
        scope.condition("id")
    ))
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

/// Whether `scope` covers the outbox message `message_id` (a limited scope covers only
/// messages of orders of its companies).
pub async fn covers_message(
    tx: &mut Tx<'_>,
    scope: &CompanyScope,
    message_id: i64,
) -> Result<bool, sqlx::Error> {
    if !scope.is_limited() {
        return Ok(true);
    }
    let found: Option<(i64,)> = sqlx::query_as(&format!(
        "SELECT o.id FROM outbox_messages m JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id WHERE m.id = $1{}",
        scope.condition("o.id")
    ))
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

/// A company the portal has seen on an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    pub odoo_id: i64,
    pub name: String,
}

/// Every company named on a synced order, by name.
pub async fn known(db: &Db) -> Result<Vec<Company>, sqlx::Error> {
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT company_odoo_id, MAX(company_name) FROM order_headers
         WHERE company_odoo_id IS NOT NULL GROUP BY company_odoo_id",
    )
    .fetch_all(db)
    .await?;
    let mut out: Vec<Company> = rows
        .into_iter()
        .map(|(odoo_id, name)| Company {
            odoo_id,
            name: name.unwrap_or_else(|| format!("company {odoo_id}")),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.odoo_id.cmp(&b.odoo_id)));
    Ok(out)
}

/// Limits a buyer to `companies` (empty: every company). Admins only; the target must be a
/// buyer; every id must be a company the portal knows. Audited in the same transaction.
pub async fn set_limits(
    db: &Db,
    actor: &CurrentUser,
    user_id: i64,
    companies: &[i64],
    ip: &str,
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    if actor.role != Role::Admin {
        return Err(ActionError::NotFound);
    }
    let mut wanted = companies.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let known = known(db).await?;
    if let Some(unknown) = wanted
        .iter()
        .find(|id| !known.iter().any(|c| c.odoo_id == **id))
    {
        return Err(ActionError::Invalid(format!(
            "Company {unknown} is not among the companies of synced orders; choose from the list."
        )));
    }
    let submission = Submission::new(actor.id, key, "set_companies", &(user_id, &wanted))?;
    let mut tx =
        db::write_keyed(db, &submission.lock_keys(vec![db::LockKey::user(user_id)])).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    let target: Option<(String, String)> =
        sqlx::query_as("SELECT email, role FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((email, role)) = target else {
        return Err(ActionError::NotFound);
    };
    if role != Role::Buyer.code() {
        return Err(ActionError::Invalid(
            "Only buyers can be limited to some companies; admins see every company.".into(),
        ));
    }
    let current: Vec<(i64,)> = sqlx::query_as(
        "SELECT company_odoo_id FROM staff_companies WHERE user_id = $1 ORDER BY company_odoo_id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    let names = |ids: &[i64]| -> String {
        if ids.is_empty() {
            return "every company".into();
        }
        ids.iter()
            .map(|id| {
                known
                    .iter()
                    .find(|c| c.odoo_id == *id)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| format!("company {id}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if current.iter().map(|(id,)| *id).eq(wanted.iter().copied()) {
        return Ok(Outcome::already(format!(
            "{email} sees {} already.",
            names(&wanted)
        )));
    }
    sqlx::query("DELETE FROM staff_companies WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for company in &wanted {
        sqlx::query("INSERT INTO staff_companies (user_id, company_odoo_id) VALUES ($1, $2)")
            .bind(user_id)
            .bind(company)
            .execute(&mut *tx)
            .await?;
    }
    audit(
        &mut *tx,
        Some(actor.id),
        "staff_companies_set",
        &email,
        &names(&wanted),
        ip,
    )
    .await?;
    let outcome = Outcome::done(format!("{email} now sees {}.", names(&wanted)));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    crate::server::auth::session::forget_user(user_id);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlimited_scope_adds_no_condition_and_a_limited_one_lists_its_companies() {
        assert_eq!(CompanyScope::All.condition("o.id"), "");
        assert_eq!(
            CompanyScope::Only(vec![1, 3]).condition("o.id"),
            " AND o.id IN (SELECT order_id FROM order_headers WHERE company_odoo_id IN (1, 3))"
        );
    }
}

//! Who is signed in: the session keys, the user loaded for each request, and the role and
//! supplier-scope checks every server function makes.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::server::db::Db;

pub const USER_KEY: &str = "user_id";
pub const EPOCH_KEY: &str = "session_epoch";
pub const CSRF_KEY: &str = "csrf_token";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    SupplierAdmin,
    SupplierUser,
    Buyer,
    Admin,
    /// Internal staff who work on demand planning (`/planning`), like a buyer otherwise.
    Planner,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::SupplierAdmin => "supplier_admin",
            Role::SupplierUser => "supplier_user",
            Role::Buyer => "buyer",
            Role::Admin => "admin",
            Role::Planner => "planner",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [
            Role::SupplierAdmin,
            Role::SupplierUser,
            Role::Buyer,
            Role::Admin,
            Role::Planner,
        ]
        .into_iter()
        .find(|r| r.code() == s)
    }
}

/// The signed-in user, loaded from the database for each request.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Set for supplier users: the only supplier whose data they may see.
    pub supplier_id: Option<i64>,
    pub supplier_name: Option<String>,
    pub time_zone: String,
    /// For staff: the companies whose orders they see (`server::companies`).
    pub companies: crate::server::companies::CompanyScope,
}

impl CurrentUser {
    pub fn is_internal(&self) -> bool {
        matches!(self.role, Role::Buyer | Role::Admin | Role::Planner)
    }

    /// Planners and admins work on demand planning (`/planning`).
    pub fn plans(&self) -> bool {
        matches!(self.role, Role::Planner | Role::Admin)
    }

    /// Where times are shown to this user.
    pub fn clock(&self) -> crate::server::time::UserClock {
        crate::server::time::UserClock::for_zone(&self.time_zone)
    }
}

/// Loads the session's user if the session is signed in, the user is active and the
/// session's epoch is current (a password change or deactivation bumps it).
pub async fn load_user(db: &Db, session: &Session) -> Option<CurrentUser> {
    let user_id: i64 = session.get(USER_KEY).await.ok().flatten()?;
    let epoch: i64 = session.get(EPOCH_KEY).await.ok().flatten()?;
    #[allow(clippy::type_complexity)] // one row of the query below, read once
    let row: Option<(i64, String, String, String, Option<i64>, Option<String>, String, i64, i64)> = sqlx::query_as(
        "SELECT u.id, u.email, u.display_name, u.role, u.supplier_id, s.name, u.time_zone, u.active, u.session_epoch
         FROM users u LEFT JOIN suppliers s ON s.id = u.supplier_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
    .ok()
    .flatten();
    let (
        id,
        email,
        display_name,
        role,
        supplier_id,
        supplier_name,
        time_zone,
        active,
        current_epoch,
    ) = row?;
    if active == 0 || current_epoch != epoch {
        // Ended elsewhere (deactivated, password changed): forget this session for good.
        let _ = session.flush().await;
        return None;
    }
    let role = Role::from_code(&role)?;
    let companies = crate::server::companies::scope_of(db, id, role)
        .await
        .ok()?;
    Some(CurrentUser {
        id,
        email,
        display_name,
        role,
        supplier_id,
        supplier_name,
        time_zone,
        companies,
    })
}

//! `/api/v1/exceptions`: the buyers' exceptions screen for the staff's own systems (a BI
//! tool, a ticketing system): the same exceptions, one flat record each, with a stable
//! category code and a link to where a person acts on it.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{internal, problem, Authorized};
use crate::server::exceptions::{self, Category, Windows};
use crate::server::AppState;

/// Scope number of `exceptions:read` for `Authorized`.
pub const EXCEPTIONS_READ: u8 = 7;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionsQuery {
    /// Only these categories, comma-separated: `proposal`, `late_acknowledgment`,
    /// `at_risk_delivery`, `receipt_discrepancy`, `conflict`, `planning`, `sync_problem`.
    category: Option<String>,
    /// Only this supplier's (its portal id, as `/api/v1/orders` shows it); planning data,
    /// being nobody's in particular, is then left out.
    supplier: Option<i64>,
    /// Only orders of this purchase representative (their name in Odoo).
    buyer: Option<String>,
}

/// The order an exception is about.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderRef {
    /// The order's id in the portal (`/api/v1/orders/{id}`), when known.
    pub id: Option<i64>,
    /// The purchase order's number.
    pub number: String,
}

/// One exception.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExceptionItem {
    /// Stable code: `proposal`, `late_acknowledgment`, `at_risk_delivery`,
    /// `receipt_discrepancy`, `conflict`, `planning`, `sync_problem`.
    pub category: String,
    pub order: Option<OrderRef>,
    pub supplier: Option<super::model::Supplier>,
    /// What it is, in words.
    pub detail: String,
    /// Since when (UTC), where the category has a start.
    pub since: Option<String>,
    /// For `at_risk_delivery`: the date the buyer asked for.
    pub requested: Option<String>,
    /// Where a person acts on it (absolute URL on the portal).
    pub link: String,
}

/// The exceptions, in the screen's order, and how many of each category.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExceptionList {
    pub exceptions: Vec<ExceptionItem>,
    pub counts: BTreeMap<String, usize>,
}

/// The buyers' exceptions now.
#[utoipa::path(
    get,
    path = "/api/v1/exceptions",
    tag = "exceptions",
    params(ExceptionsQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "The exceptions", body = ExceptionList),
        (status = 400, description = "An unknown category", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks exceptions:read (a staff token's scope)", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests (see Retry-After)", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Authorized(caller): Authorized<EXCEPTIONS_READ>,
    Query(q): Query<ExceptionsQuery>,
) -> Response {
    // The scope is offered to the staff's tokens only; a supplier's never sees this.
    if caller.user.supplier_id.is_some() {
        return problem(
            StatusCode::FORBIDDEN,
            "scope_missing",
            "The exceptions are for the staff's own systems.",
        );
    }
    let mut only = Vec::new();
    for c in q
        .category
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
    {
        if c.is_empty() {
            continue;
        }
        match Category::from_code(c) {
            Some(c) => only.push(c),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid_category",
                    &format!(
                        "`{c}` is not a category; use {}.",
                        Category::ALL.map(Category::code).join(", ")
                    ),
                )
            }
        }
    }
    let scope = exceptions::Scope {
        supplier: q.supplier,
        buyer: q
            .buyer
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty()),
        companies: caller.user.companies.clone(),
        plans: caller.user.plans(),
    };
    // Streamed like the CSV (`exceptions::export`): the list is written as it is read, so
    // neither side holds every exception; the counts come after the list.
    let format = Items {
        base: state.settings.public_url.trim_end_matches('/').to_string(),
        first: true,
        counts: Category::ALL
            .iter()
            .filter(|c| only.is_empty() || only.contains(c))
            .map(|c| (c.code().to_string(), 0))
            .collect(),
    };
    let export = exceptions::export(
        state.db.clone(),
        scope,
        Windows::of(&state.settings),
        only,
        "{\"exceptions\":[".to_string(),
        format,
    );
    match exceptions::started(export).await {
        Ok(chunks) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from_stream(chunks),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

/// `ExceptionList` written item by item: `{"exceptions":[` comes first, then each item,
/// then the counts.
struct Items {
    base: String,
    first: bool,
    counts: BTreeMap<String, usize>,
}

impl Items {
    fn item(&self, r: &exceptions::Row) -> ExceptionItem {
        let at_risk = r.category == Category::AtRiskDelivery;
        let when = Some(r.when.as_str()).filter(|w| !w.is_empty());
        ExceptionItem {
            category: r.category.code().to_string(),
            order: r.order_name.clone().map(|number| OrderRef {
                id: r.order_id,
                number,
            }),
            supplier: r.supplier.clone().map(super::model::Supplier),
            detail: r.detail.clone(),
            since: when
                .filter(|_| !at_risk)
                .and_then(|w| {
                    chrono::NaiveDateTime::parse_from_str(w.get(..19)?, "%Y-%m-%d %H:%M:%S").ok()
                })
                .map(crate::server::canonical::utc),
            requested: when
                .filter(|_| at_risk)
                .map(|w| w.chars().take(10).collect()),
            link: format!("{}{}", self.base, r.link),
        }
    }
}

impl exceptions::Format for Items {
    fn row(&mut self, out: &mut String, row: &exceptions::Row) {
        let json = match serde_json::to_string(&self.item(row)) {
            Ok(json) => json,
            // Strings and numbers only: this cannot fail; should it, the item is left out
            // and said so in the log rather than breaking the list.
            Err(e) => {
                tracing::error!(error = %e, "exception item not written");
                return;
            }
        };
        if !std::mem::take(&mut self.first) {
            out.push(',');
        }
        out.push_str(&json);
        *self
            .counts
            .entry(row.category.code().to_string())
            .or_default() += 1;
    }

    fn end(&mut self, out: &mut String) {
        out.push_str("],\"counts\":");
        out.push_str(&serde_json::to_string(&self.counts).unwrap_or_else(|_| "{}".into()));
        out.push('}');
    }
}

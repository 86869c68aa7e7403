//! Supplier performance over a chosen period: every supplier for buyers and admins, its
//! own for a supplier.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;
use crate::domain::performance::Scorecard;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierScore {
    pub supplier_id: i64,
    pub name: String,
    pub card: Scorecard,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerformanceView {
    /// The period, as days (`YYYY-MM-DD`), inclusive.
    pub from: String,
    pub to: String,
    pub scores: Vec<SupplierScore>,
    /// Per month of release, for the supplier chosen (or all of them together).
    pub months: Vec<(String, Scorecard)>,
    /// Staff only: the suppliers to choose from (empty for a supplier).
    pub suppliers: Vec<(i64, String)>,
    pub selected: Option<i64>,
}

/// `supplier`: an organisation id (staff; ignored for suppliers), `from`/`to`: days;
/// empty means the last 90 days.
#[server(endpoint = "performance", input = GetUrl)]
pub async fn performance(
    supplier: String,
    from: String,
    to: String,
) -> Result<PerformanceView, AppError> {
    use super::context;
    use chrono::NaiveDate;
    let user = context::user()?;
    let state = context::state()?;
    let parse = |s: &str, what: &str| -> Result<Option<NaiveDate>, AppError> {
        match s.trim() {
            "" => Ok(None),
            d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    context::invalid(format!("The {what} date must look like 2026-11-30."))
                }),
        }
    };
    let today = chrono::Utc::now().date_naive();
    let to = parse(&to, "end")?.unwrap_or(today);
    let from = parse(&from, "start")?.unwrap_or(to - chrono::Duration::days(89));
    if from > to {
        return Err(context::invalid("The period starts after it ends."));
    }
    let selected = match user.supplier_id {
        Some(own) => Some(own),
        None => supplier.trim().parse::<i64>().ok(),
    };
    let facts = crate::server::performance::facts(&state.db, selected, &user.companies, from, to)
        .await
        .map_err(context::internal)?;
    let all: Vec<_> = facts
        .iter()
        .flat_map(|(_, _, o)| o.iter().cloned())
        .collect();
    let suppliers = if user.is_internal() {
        crate::server::performance::supplier_names(&state.db)
            .await
            .map_err(context::internal)?
    } else {
        Vec::new()
    };
    Ok(PerformanceView {
        from: from.to_string(),
        to: to.to_string(),
        scores: facts
            .iter()
            .map(|(id, name, orders)| SupplierScore {
                supplier_id: *id,
                name: name.clone(),
                card: crate::domain::performance::scorecard(orders),
            })
            .collect(),
        months: crate::domain::performance::by_month(&all),
        suppliers,
        selected,
    })
}

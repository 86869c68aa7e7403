//! `GET /api/v1/planning/supply`: the supplier-confirmed supply the portal offers to the
//! planning platform (`server::planning::supply_export`), as CSV or JSON, with a staff
//! token of scope `planning:read`.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{internal, problem, Authorized};
use crate::model::planning_items::SupplyRow;
use crate::server::planning::supply_export;
use crate::server::AppState;

/// Scope number of `planning:read` for `Authorized` (its place in `Scope::ALL`).
pub const PLANNING_READ: u8 = 6;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SupplyParams {
    /// `csv` or `json`; without it the `Accept` header decides (JSON unless it asks for text/csv).
    pub format: Option<String>,
}

/// The supply export as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SupplyExport {
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub generated_at: String,
    pub rows: Vec<SupplyRow>,
    /// What the export does not hold (yet).
    pub notes: Vec<String>,
}

/// What the export cannot offer, said in every JSON answer and in the README.
pub const NOTES: [&str; 2] = [
    "on_hand rows are Odoo's qty_available per warehouse for the latest approved forecast's item-locations, read every 30 minutes and dated by that read",
    "lead_time_days is empty where the vendor pricelist has no row for the supplier and product",
];

/// Open purchase quantities by date as suppliers confirmed them (Odoo's planned date where
/// a supplier has not answered) and announced shipments with their expected arrival, per
/// planning item and location; `date_source` says where each row's date comes from
/// (`supplier_confirmed`, `odoo_planned`, `shipment_notice`). Columns: see the README.
#[utoipa::path(
    get,
    path = "/api/v1/planning/supply",
    tag = "planning",
    params(SupplyParams),
    security(("token" = [])),
    responses(
        (status = 200, description = "The rows (JSON, or CSV with `format=csv` or `Accept: text/csv`)", body = SupplyExport),
        (status = 403, description = "The token lacks planning:read", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown format", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn supply(
    State(state): State<AppState>,
    Authorized(_caller): Authorized<PLANNING_READ>,
    Query(params): Query<SupplyParams>,
    headers: HeaderMap,
) -> Response {
    let csv = match params.format.as_deref().map(str::trim) {
        Some("csv") => true,
        Some("json") => false,
        Some("") | None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv")),
        Some(_) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_format",
                "format is csv or json.",
            )
        }
    };
    let rows = match supply_export::rows(&state.db).await {
        Ok(r) => r,
        Err(e) => return internal(format_args!("planning supply export: {e}")),
    };
    if csv {
        return (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            supply_export::csv(&rows),
        )
            .into_response();
    }
    Json(SupplyExport {
        generated_at: supply_export::generated_at(),
        rows,
        notes: NOTES.iter().map(|n| n.to_string()).collect(),
    })
    .into_response()
}

/// The export's JSON Schema (in `/api/v1/planning/schema` as `$defs/supply_export`); the
/// CSV carries the row's fields as columns, in `supply_export::COLUMNS` order.
pub fn export_schema() -> Value {
    let text = |d: &str| json!({"type": "string", "description": d});
    let row = json!({
        "type": "object",
        "properties": {
            "item": text("The planning item code: an item mapping, else the product's internal reference"),
            "location": text("The planning location whose warehouse receives the order; empty when none is mapped"),
            "ship_to": text("Where Odoo delivers the order: warehouse:<id>, partner:<id> or company:<id>; empty if unknown"),
            "product_odoo_id": {"type": ["integer", "null"]},
            "supply_type": {"enum": ["open_purchase", "shipment_notice", "on_hand"]},
            "quantity": text("A decimal in the unit: still to come (open_purchase), announced (shipment_notice) or in stock (on_hand)"),
            "unit": text("The order line's unit"),
            "date": {"type": "string", "description": "YYYY-MM-DD; empty if Odoo has no planned date"},
            "date_source": {"enum": ["supplier_confirmed", "odoo_planned", "shipment_notice", "odoo_on_hand"], "description": "supplier_confirmed: accepted or proposed by the supplier; odoo_planned: not answered (or the proposal was turned down); shipment_notice: the notice's expected arrival; odoo_on_hand: the day Odoo's stock level was read"},
            "order": text("The purchase order's number"),
            "order_line_odoo_id": {"type": ["integer", "null"], "description": "null for on_hand rows"},
            "supplier": text("The supplier's name"),
            "shipment_notice": {"type": ["string", "null"], "description": "The notice's number (shipment_notice rows)"},
            "lead_time_days": {"type": ["integer", "null"], "description": "The vendor pricelist's delay; null without a pricelist row"},
        },
        "required": supply_export::COLUMNS,
    });
    json!({
        "type": "object",
        "properties": {
            "generated_at": {"type": "string"},
            "rows": {"type": "array", "items": row},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["generated_at", "rows", "notes"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tokens::Scope;

    #[test]
    fn the_scope_number_names_planning_read() {
        assert_eq!(Scope::ALL[PLANNING_READ as usize], Scope::PlanningRead);
    }

    #[test]
    fn the_schema_names_every_csv_column() {
        let schema = export_schema();
        let properties = schema["properties"]["rows"]["items"]["properties"]
            .as_object()
            .unwrap();
        assert_eq!(properties.len(), supply_export::COLUMNS.len());
        for c in supply_export::COLUMNS {
            assert!(properties.contains_key(c), "{c}");
        }
    }
}

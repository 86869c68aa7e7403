//! `/api/v1/planning`: a planning system sends forecast snapshots and supply
//! recommendations (CSV or JSON, the canonical format of `domain::planning`) through the
//! same validating pipeline as the upload page (`server::planning::intake`), with a staff
//! token of scope `planning:write`; the JSON Schema of the format is open to all.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{action_error, internal, problem, Authorized, IdempotencyKey};
use crate::domain::planning::SnapshotKind;
use crate::server::idempotency::Submission;
use crate::server::planning::intake::{self, Format, Limits, Sent, Stager};
use crate::server::AppState;

/// Scope number of `planning:write` for `Authorized` (its place in `Scope::ALL`).
pub const PLANNING_WRITE: u8 = 5;

/// The largest snapshot one request may carry (streamed to disk, not held in memory).
pub const MAX_SNAPSHOT_BYTES: usize = 200 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotParams {
    /// The planning system (its column-mapping profile applies); default `api`.
    pub source: Option<String>,
    /// The source's own id of the snapshot: a second snapshot with the same id is the same.
    pub snapshot_id: Option<String>,
    /// `forecast` (default) or `supply` (supply recommendations).
    pub kind: Option<String>,
}

/// What became of a snapshot.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SnapshotReceived {
    pub snapshot: i64,
    /// valid (a new version waiting for approval) or approved.
    pub status: String,
    pub version: Option<i64>,
    pub rows: i64,
    /// True when the same content or snapshot id was received before: nothing new was stored.
    pub already: bool,
    pub message: String,
}

/// Sends a forecast snapshot (or, with `kind=supply`, supply recommendations) as CSV
/// (`text/csv`, a header row) or JSON (`application/json`: an array of rows or
/// `{"rows": [...]}`). A snapshot with problems is rejected whole (422, every problem with
/// its row, column, value and how to fix it); a valid one becomes a new version.
#[utoipa::path(
    post,
    path = "/api/v1/planning/forecasts",
    tag = "planning",
    params(
        SnapshotParams,
        ("Idempotency-Key" = String, Header, description = "A new random value per request; the same when retrying it"),
    ),
    request_body(content = String, content_type = "text/csv", description = "The snapshot as CSV, or as JSON with Content-Type application/json (see /api/v1/planning/schema)"),
    security(("token" = [])),
    responses(
        (status = 201, description = "A new version", body = SnapshotReceived),
        (status = 200, description = "Received before (same content or snapshot id): the existing version", body = SnapshotReceived),
        (status = 403, description = "The token lacks planning:write", body = super::model::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rejected: `errors` lists the problems (row, column, value, problem, fix)", body = super::model::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_snapshot(
    State(state): State<AppState>,
    Authorized(caller): Authorized<PLANNING_WRITE>,
    IdempotencyKey(key): IdempotencyKey,
    Query(params): Query<SnapshotParams>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let kind = match params.kind.as_deref().map(str::trim) {
        None | Some("") => SnapshotKind::Forecast,
        Some(k) => match SnapshotKind::from_code(k) {
            Some(k) => k,
            None => return super::invalid_at("kind", "forecast or supply"),
        },
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut stager = match Stager::new(&state.settings.upload_dir).await {
        Ok(s) => s,
        Err(e) => return internal(format_args!("staging a planning snapshot: {e}")),
    };
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                stager.discard().await;
                return problem(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    "The body was cut off; send it again.",
                );
            }
        };
        if stager.size + chunk.len() > MAX_SNAPSHOT_BYTES {
            stager.discard().await;
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "A snapshot is at most 200 MB.",
            );
        }
        if let Err(e) = stager.write(&chunk).await {
            stager.discard().await;
            return internal(format_args!("staging a planning snapshot: {e}"));
        }
    }
    if stager.size == 0 {
        stager.discard().await;
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
            "The body is empty: send the snapshot as CSV or JSON.",
        );
    }
    let staged = match stager.finish().await {
        Ok(s) => s,
        Err(e) => return internal(format_args!("staging a planning snapshot: {e}")),
    };
    let source = params
        .source
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "api".into());
    let submission = match Submission::new(
        caller.user.id,
        Some(&key),
        "planning_snapshot",
        &(kind.code(), &source, &params.snapshot_id, &staged.sha256),
    ) {
        Ok(s) => s,
        Err(e) => return action_error(crate::server::orders::ActionError::Key(e), ""),
    };
    match replayed(&state, &submission).await {
        Ok(Some(first)) => return answer(first),
        Ok(None) => {}
        Err(e) => return action_error(e, ""),
    }
    let sent = Sent {
        kind,
        source,
        snapshot_id: params.snapshot_id.clone(),
        format: if json { Format::Json } else { Format::Csv },
        file_name: format!("api.{}", if json { "json" } else { "csv" }),
    };
    let received = match intake::receive(
        &state.db,
        &Limits::of(&state.settings),
        &caller.user,
        &sent,
        &staged,
        "api",
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return action_error(e, "No such snapshot."),
    };
    if received.status == "rejected" {
        return rejected(&state, &received).await;
    }
    let result = SnapshotReceived {
        snapshot: received.import_id,
        status: received.status,
        version: received.version,
        rows: received.row_count,
        already: received.already,
        message: received.message,
    };
    if let Err(e) = remember(&state, &submission, &result).await {
        return action_error(e, "");
    }
    answer(result)
}

fn answer(r: SnapshotReceived) -> Response {
    let status = if r.already {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(r)).into_response()
}

async fn replayed(
    state: &AppState,
    s: &Submission,
) -> Result<Option<SnapshotReceived>, crate::server::orders::ActionError> {
    use crate::server::orders::ActionError;
    // Keyed by the idempotency key's row alone: a second client's snapshot does not wait
    // here for an import in progress (the intake keys the snapshot kind itself).
    let mut tx = crate::server::db::write_keyed(&state.db, &s.lock_keys(Vec::new())).await?;
    let first = s.replay(&mut tx).await.map_err(ActionError::Key)?;
    tx.commit().await?;
    Ok(first)
}

async fn remember(
    state: &AppState,
    s: &Submission,
    result: &SnapshotReceived,
) -> Result<(), crate::server::orders::ActionError> {
    use crate::server::orders::ActionError;
    let mut tx = crate::server::db::write_keyed(&state.db, &s.lock_keys(Vec::new())).await?;
    s.record(&mut tx, result).await.map_err(ActionError::Key)?;
    tx.commit().await?;
    Ok(())
}

/// A rejected snapshot: its report's first problems in the problem answer.
async fn rejected(state: &AppState, r: &intake::Received) -> Response {
    let problems = match crate::server::planning::problems(&state.db, r.import_id).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let errors: Vec<Value> = problems
        .iter()
        .take(100)
        .map(|p| {
            json!({
                "path": format!("row {} / {}", p.row, p.column),
                "message": format!("{} {}", p.problem, p.fix),
                "row": p.row,
                "column": p.column,
                "value": p.value,
                "problem": p.problem,
                "fix": p.fix,
            })
        })
        .collect();
    crate::server::problem::response(
        StatusCode::UNPROCESSABLE_ENTITY,
        "snapshot_rejected",
        &r.message,
        json!({"snapshot": r.import_id, "error_count": r.error_count, "errors": errors}),
    )
}

/// `GET /api/v1/planning/schema`: the JSON Schema (2020-12) of the canonical format.
pub async fn schema() -> Response {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        Json(schema_document()),
    )
        .into_response()
}

fn row_schema(kind: SnapshotKind) -> Value {
    let quantity = json!({"description": "A non-negative decimal (a number, or a string in the source's decimal format)", "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": "^\\s*[0-9][0-9.,\\s]*$"}]});
    let optional_quantity = json!({"anyOf": [quantity.clone(), {"type": "null"}]});
    let date = json!({"type": "string", "format": "date", "description": "YYYY-MM-DD (or the source profile's date format)"});
    let mut properties = serde_json::Map::new();
    for (field, _) in kind.fields() {
        let schema = match *field {
            "item" => {
                json!({"type": "string", "minLength": 1, "description": "The planning item code: the Odoo product's internal reference, or a code mapped on /planning/mapping"})
            }
            "location" => {
                json!({"type": "string", "minLength": 1, "description": "The planning location, mapped to an Odoo warehouse code"})
            }
            "bucket_start" => {
                json!({"type": "string", "format": "date", "description": "The bucket's first day: any day, a Monday for weeks, the 1st for months"})
            }
            "bucket" => json!({"enum": ["day", "week", "month"]}),
            "quantity" => quantity.clone(),
            "unit" => {
                json!({"type": "string", "minLength": 1, "description": "The product's Odoo unit, or a unit mapped with a factor"})
            }
            "kind" => json!({"enum": ["statistical", "consensus", "override"]}),
            "safety_stock" | "min" | "max" => optional_quantity.clone(),
            "need_by" => date.clone(),
            "vendor" => json!({"type": ["string", "null"], "description": "The preferred vendor"}),
            "source_id" => {
                json!({"type": "string", "minLength": 1, "description": "The source's own recommendation id (unique in the snapshot)"})
            }
            _ => json!({}),
        };
        properties.insert(field.to_string(), schema);
    }
    let required: Vec<&str> = kind
        .fields()
        .iter()
        .filter(|(_, r)| *r)
        .map(|(f, _)| *f)
        .collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// The schema document: one row and one snapshot of each kind.
pub fn schema_document() -> Value {
    let snapshot = |row: &str| {
        json!({"oneOf": [
            {"type": "array", "items": {"$ref": format!("#/$defs/{row}")}},
            {"type": "object", "properties": {"rows": {"type": "array", "items": {"$ref": format!("#/$defs/{row}")}}}, "required": ["rows"]}
        ]})
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "/api/v1/planning/schema",
        "title": "Millrace canonical planning format",
        "description": "Forecast snapshots and supply recommendations. CSV carries the same fields as a header row (names as below; a source's profile may rename them); JSON is an array of rows or {\"rows\": [...]}. Send with POST /api/v1/planning/forecasts (kind=supply for recommendations). `supply_export` is what GET /api/v1/planning/supply answers (not a snapshot to send).",
        "$defs": {
            "forecast_row": row_schema(SnapshotKind::Forecast),
            "supply_row": row_schema(SnapshotKind::Supply),
            "forecast_snapshot": snapshot("forecast_row"),
            "supply_snapshot": snapshot("supply_row"),
            "supply_export": super::planning_supply::export_schema(),
        },
        "oneOf": [{"$ref": "#/$defs/forecast_snapshot"}, {"$ref": "#/$defs/supply_snapshot"}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tokens::Scope;

    #[test]
    fn the_planning_scope_number_names_planning_write() {
        assert_eq!(Scope::ALL[PLANNING_WRITE as usize], Scope::PlanningWrite);
    }

    #[test]
    fn the_schema_requires_each_kinds_required_fields() {
        let doc = schema_document();
        let required = &doc["$defs"]["forecast_row"]["required"];
        for f in [
            "item",
            "location",
            "bucket_start",
            "bucket",
            "quantity",
            "unit",
            "kind",
        ] {
            assert!(required.as_array().unwrap().iter().any(|r| r == f), "{f}");
        }
        assert!(doc["$defs"]["supply_row"]["properties"]["need_by"].is_object());
        assert!(!required.as_array().unwrap().iter().any(|r| r == "min"));
    }
}

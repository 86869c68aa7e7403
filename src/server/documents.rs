//! Documents attached to shipment notices: a plain multipart upload (works without
//! JavaScript), checked for size and type by their first bytes, stored by content hash
//! under the upload directory, recorded with the notice and sent to Odoo as an
//! `ir.attachment` through the outbox. Downloads are scoped to the supplier.

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::auth::session::CSRF_KEY;
use super::auth::CurrentUser;
use super::db;
use super::idempotency::{self, Submission};
use super::orders::ActionError;
use super::problem::Problem;
use super::sync::outbox::{self, OutboxAction};
use super::AppState;
use crate::domain::outcome::Outcome;

pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of file accepted, recognised by their first bytes, not by their name.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// A file name safe to show and to send on: no path, no control characters, not too long.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(120)
        .collect();
    if cleaned.trim().is_empty() {
        "document".into()
    } else {
        cleaned.trim().to_string()
    }
}

fn back(message: &str, ok: bool) -> Response {
    let key = if ok { "uploaded" } else { "error" };
    let q = serde_urlencoded::to_string([(key, message)]).unwrap_or_default();
    Redirect::to(&format!("/shipments?{q}")).into_response()
}

/// `POST /shipments/{id}/documents`: `csrf_token` then `file` (multipart).
pub async fn upload(
    State(state): State<AppState>,
    Path(notice_id): Path<i64>,
    session: Session,
    user: Option<axum::Extension<CurrentUser>>,
    mut form: Multipart,
) -> Response {
    let Some(axum::Extension(user)) = user else {
        return Redirect::to("/login").into_response();
    };
    if user.supplier_id.is_none() {
        return Problem::forbidden("only suppliers attach documents").into_response();
    };
    // The request guard cannot read multipart bodies: the token is checked here, first field.
    let expected: Option<String> = session.get(CSRF_KEY).await.ok().flatten();
    let mut token_ok = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut key: Option<String> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return back("The upload was cut off or is larger than 10 MB.", false),
        };
        match field.name() {
            Some("csrf_token") => {
                let given = field.text().await.unwrap_or_default();
                token_ok = expected
                    .as_deref()
                    .is_some_and(|e| bool::from(given.as_bytes().ct_eq(e.as_bytes())));
            }
            Some(idempotency::FIELD) => key = field.text().await.ok(),
            Some("file") if token_ok => {
                let name = clean_file_name(field.file_name().unwrap_or("document"));
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(_) => {
                        return back("The upload was cut off or is larger than 10 MB.", false)
                    }
                }
            }
            _ => {}
        }
    }
    if !token_ok {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "the form was missing its security token or it expired: reload the page and try again",
        )
        .into_response();
    }
    let (name, bytes) = file.unwrap_or_default();
    match attach(
        &state.db,
        &state.settings.upload_dir,
        &user,
        notice_id,
        &name,
        &bytes,
        key.as_deref(),
    )
    .await
    {
        Ok(outcome) => {
            state.wake_jobs();
            back(&outcome.message, true)
        }
        Err(ActionError::Db(e)) => internal(e),
        // A refusal goes back to the page, which shows it; a missing notice is answered.
        Err(e) => match e.into_problem(NO_SUCH_NOTICE) {
            p if p.status == StatusCode::UNPROCESSABLE_ENTITY => back(&p.detail, false),
            p => p.into_response(),
        },
    }
}

/// Attaches `bytes` (named `name`) to the user's shipment notice `notice_id`: a PDF, PNG or
/// JPEG by its first bytes, at most 10 MB, stored by hash (synced before the row that
/// points at it), one `Attach` outbox message and history entry per order of the notice.
/// The same file twice is attached once; a repeat of the request (`key`) answers the first.
pub async fn attach(
    db: &db::Db,
    upload_dir: &std::path::Path,
    user: &CurrentUser,
    notice_id: i64,
    name: &str,
    bytes: &[u8],
    key: Option<&str>,
) -> Result<Outcome, ActionError> {
    let Some(supplier) = user.supplier_id else {
        return Err(ActionError::NotFound);
    };
    let name = clean_file_name(name);
    if bytes.is_empty() {
        return Err(ActionError::Invalid("Choose a file to attach.".into()));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ActionError::Invalid(
            "The file is larger than 10 MB.".into(),
        ));
    }
    let Some(mime) = sniff(bytes) else {
        return Err(ActionError::Invalid(format!(
            "“{name}” is not a PDF, PNG or JPEG file."
        )));
    };
    let notice: Option<(String, String)> = sqlx::query_as(
        "SELECT number, status FROM shipment_notices WHERE id = $1 AND supplier_id = $2",
    )
    .bind(notice_id)
    .bind(supplier)
    .fetch_optional(db)
    .await?;
    let Some((number, status)) = notice else {
        return Err(ActionError::NotFound);
    };
    if status == "cancelled" {
        return Err(ActionError::Invalid(format!(
            "{number} is cancelled: documents can no longer be attached."
        )));
    }
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Written (and synced) before the row that points at it: a crash leaves at worst an
    // unreferenced file, never a row without its file.
    let path = upload_dir.join(&sha);
    let write = async {
        use tokio::io::AsyncWriteExt;
        tokio::fs::create_dir_all(upload_dir).await?;
        let mut f = tokio::fs::File::create(&path).await?;
        f.write_all(bytes).await?;
        f.sync_all().await
    };
    write.await.map_err(sqlx::Error::Io)?;
    let submission = Submission::new(user.id, key, "upload", &(notice_id, &name, &sha))?;
    // Keyed by the notice's orders, as cancelling it is: its outbox messages and events
    // belong to them.
    let keys = super::shipments::notice_keys(db, notice_id).await?;
    let mut tx = db::write_keyed(db, &submission.lock_keys(keys.clone())).await?;
    if let Some(first) = submission.replay(&mut tx).await? {
        return Ok(first);
    }
    // Decided under the notice's keys: the notice may have been cancelled meanwhile, and
    // the same file sent twice (a double click, a retry) is attached once.
    let (status,): (String,) = sqlx::query_as("SELECT status FROM shipment_notices WHERE id = $1")
        .bind(notice_id)
        .fetch_one(&mut *tx)
        .await?;
    if status == "cancelled" {
        return Err(ActionError::Invalid(format!(
            "{number} is cancelled: documents can no longer be attached."
        )));
    }
    let same: Option<(String,)> = sqlx::query_as(
        "SELECT file_name FROM shipment_documents WHERE notice_id = $1 AND sha256 = $2",
    )
    .bind(notice_id)
    .bind(&sha)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((attached,)) = same {
        return Ok(Outcome::already(format!(
            "{attached} is attached to {number} already."
        )));
    }
    // Read again under the keys: a notice's lines never change, so this holds.
    let orders = super::shipments::orders_of_notice(&mut tx, notice_id).await?;
    if orders
        .iter()
        .any(|o| !keys.contains(&db::LockKey::order(o.id)))
    {
        return Err(ActionError::NotFound);
    }
    let r: (i64,) = sqlx::query_as(
        "INSERT INTO shipment_documents (notice_id, file_name, mime_type, size_bytes, sha256, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(notice_id)
    .bind(&name)
    .bind(mime)
    .bind(bytes.len() as i64)
    .bind(&sha)
    .bind(user.id)
    .bind(db::now())
    .fetch_one(&mut *tx)
    .await?;
    let document_id = r.0;
    for order in orders {
        let (order_id, order_odoo_id) = (order.id, order.odoo_id);
        let correlation_id = outbox::new_correlation_id();
        let action = OutboxAction::Attach {
            order_odoo_id,
            name: format!("{number} {name}"),
            mimetype: mime.to_string(),
            sha256: sha.clone(),
            document_id,
        };
        outbox::enqueue(&mut tx, &correlation_id, &action).await?;
        super::order_events::record_event(
            &mut tx,
            order_id,
            Some(user.id),
            "document_attached",
            &format!("attached {name} to {number}"),
            Some(&correlation_id),
        )
        .await?;
    }
    let outcome = Outcome::done(format!("{name} attached to {number}."));
    submission.record(&mut tx, &outcome).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// `GET /shipments/{id}/documents/{document}`: the file, for the supplier who owns it and staff.
pub async fn download(
    State(state): State<AppState>,
    Path((notice_id, document_id)): Path<(i64, i64)>,
    user: Option<axum::Extension<CurrentUser>>,
) -> Response {
    let Some(axum::Extension(user)) = user else {
        return Redirect::to("/login").into_response();
    };
    let row: Option<(String, String, String)> = match sqlx::query_as(&format!(
        "SELECT d.file_name, d.mime_type, d.sha256 FROM shipment_documents d JOIN shipment_notices n ON n.id = d.notice_id
         WHERE d.id = $1 AND n.id = $2 AND ($3 IS NULL OR n.supplier_id = $3){}",
        user.companies.notice_condition("n.id")
    ))
    .bind(document_id)
    .bind(notice_id)
    .bind(user.supplier_id)
    .fetch_optional(&state.db)
    .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let Some((name, mime, sha)) = row else {
        return Problem::not_found("no such document among yours").into_response();
    };
    match tokio::fs::read(state.settings.upload_dir.join(&sha)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, mime),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            Body::from(bytes),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

const NO_SUCH_NOTICE: &str = "no such shipment notice among yours";

fn internal(e: impl std::fmt::Display) -> Response {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    tracing::error!(error = %e, reference, "document handling failed");
    back(&format!("Something went wrong on our side; nothing was saved. Try again (reference {reference})."), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_content_and_names_are_cleaned() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0]),
            Some("image/png")
        );
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"MZ\x90\x00 an exe named coc.pdf"), None);
        assert_eq!(clean_file_name("C:\\\\docs\\\\coc.pdf"), "coc.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b<script>.pdf"), "abscript.pdf");
        assert_eq!(clean_file_name("   "), "document");
    }
}

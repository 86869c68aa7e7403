//! The one intake pipeline every way in uses (the upload page, `POST
//! /api/v1/planning/forecasts`): the file is staged on disk by its SHA-256 (so a mapping fix
//! re-validates it without a new upload), registered once per content hash or source
//! snapshot id (a re-send answers the existing snapshot), then parsed streaming (a parser
//! thread reads the file and hands rows over a bounded channel: memory holds a batch, not
//! the file) and every row validated. A snapshot with problems is stored as rejected with
//! its report and no rows; a valid one becomes the kind's next version, its rows stored in
//! multi-row INSERTs inside the one writing transaction that makes it a version.

use std::collections::{HashMap, HashSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::mapping::{self, Catalog, SourceFormat, UnitMatch};
use super::PlanningError;
use crate::domain::planning::{self, Bucket, ForecastKind, KeyClash, QuantityError, SnapshotKind};
use crate::model::planning::RowProblem;
use crate::server::auth::users::audit;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Db, Tx};

/// Problems a report keeps (all are counted).
pub const STORED_PROBLEMS: usize = 1_000;
/// Dates more than this many days back are out of the horizon.
pub const PAST_DAYS: i64 = 366;
/// Rows per INSERT.
const BATCH: usize = 400;

/// How a file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn code(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
    fn from_code(s: &str) -> Format {
        if s == "json" {
            Format::Json
        } else {
            Format::Csv
        }
    }
    /// By the file's name, else by its first non-blank byte (`[` or `{`: JSON).
    pub fn guess(file_name: &str, first: &[u8]) -> Format {
        let lower = file_name.to_lowercase();
        if lower.ends_with(".json") {
            return Format::Json;
        }
        if lower.ends_with(".csv") || lower.ends_with(".txt") {
            return Format::Csv;
        }
        match first.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') | Some(b'{') => Format::Json,
            _ => Format::Csv,
        }
    }
}

/// What was sent, besides its content.
#[derive(Clone, Debug)]
pub struct Sent {
    pub kind: SnapshotKind,
    /// The planning system or file's origin, e.g. `frepple` (its profile applies).
    pub source: String,
    /// The source's own id of the snapshot, where it has one.
    pub snapshot_id: Option<String>,
    pub format: Format,
    pub file_name: String,
}

/// A file written to the planning folder under its content hash.
#[derive(Clone, Debug)]
pub struct Staged {
    pub sha256: String,
    pub first_bytes: Vec<u8>,
}

/// The folder staged files live in.
pub fn folder(upload_dir: &Path) -> PathBuf {
    upload_dir.join("planning")
}

/// Writes chunks to a temporary file while hashing them; [`Stager::finish`] names it by
/// its hash.
pub struct Stager {
    file: tokio::fs::File,
    temp: PathBuf,
    dir: PathBuf,
    hasher: Sha256,
    first: Vec<u8>,
    pub size: usize,
}

impl Stager {
    pub async fn new(upload_dir: &Path) -> std::io::Result<Stager> {
        let dir = folder(upload_dir);
        tokio::fs::create_dir_all(&dir).await?;
        let temp = dir.join(format!("incoming-{}", uuid::Uuid::new_v4().simple()));
        Ok(Stager {
            file: tokio::fs::File::create(&temp).await?,
            temp,
            dir,
            hasher: Sha256::new(),
            first: Vec::new(),
            size: 0,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.first.len() < 64 {
            let take = (64 - self.first.len()).min(chunk.len());
            self.first.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len();
        self.file.write_all(chunk).await
    }

    pub async fn finish(mut self) -> std::io::Result<Staged> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let sha256: String = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        tokio::fs::rename(&self.temp, self.dir.join(&sha256)).await?;
        Ok(Staged {
            sha256,
            first_bytes: self.first,
        })
    }

    /// Drops the temporary file (an upload cut off or refused).
    pub async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

/// Stages a body held in memory (the API's, bounded by the request size limit).
pub async fn stage_bytes(upload_dir: &Path, bytes: &[u8]) -> std::io::Result<Staged> {
    let mut s = Stager::new(upload_dir).await?;
    s.write(bytes).await?;
    s.finish().await
}

/// What became of a snapshot.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Received {
    pub import_id: i64,
    pub status: String,
    pub version: Option<i64>,
    pub row_count: i64,
    pub error_count: i64,
    /// The same snapshot was a version already: nothing new was stored.
    pub already: bool,
    pub message: String,
}

/// The settings a validation reads.
#[derive(Clone, Debug)]
pub struct Limits {
    pub upload_dir: PathBuf,
    pub horizon_days: i64,
    /// Approving a supply version makes draft RFQs (`MILLRACE_PLANNING_RFQS`).
    pub rfqs: bool,
    pub today: NaiveDate,
}

impl Limits {
    pub fn of(settings: &crate::server::settings::Settings) -> Limits {
        Limits {
            upload_dir: settings.upload_dir.clone(),
            horizon_days: settings.planning_horizon_days,
            rfqs: settings.planning_rfqs,
            today: chrono::Utc::now().date_naive(),
        }
    }
}

/// Registers a staged snapshot (once per content or source snapshot id) and validates it.
pub async fn receive(
    db: &Db,
    limits: &Limits,
    actor: &CurrentUser,
    sent: &Sent,
    staged: &Staged,
    ip: &str,
) -> Result<Received, PlanningError> {
    let source = sent.source.trim();
    if source.is_empty() || source.chars().count() > 80 || source.chars().any(char::is_control) {
        return Err(PlanningError::Invalid(
            "Name the source of the file (the planning system, 1 to 80 characters).".into(),
        ));
    }
    let snapshot_id = sent
        .snapshot_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if snapshot_id.is_some_and(|s| s.chars().count() > 200 || s.chars().any(char::is_control)) {
        return Err(PlanningError::Invalid(
            "The snapshot id is at most 200 characters.".into(),
        ));
    }
    let file_name = crate::server::documents::clean_file_name(&sent.file_name);
    // Imports of one kind decide on each other (same content, same snapshot, version
    // numbers): one writer per kind; other writers run beside it on PostgreSQL.
    let mut tx = db::write_keyed(db, &[db::LockKey::planning_kind(sent.kind.code())]).await?;
    let same_content: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, status FROM planning_imports WHERE kind = $1 AND content_sha256 = $2",
    )
    .bind(sent.kind.code())
    .bind(&staged.sha256)
    .fetch_optional(&mut *tx)
    .await?;
    let same_snapshot: Option<(i64, String)> = match snapshot_id {
        Some(sid) => {
            sqlx::query_as(
                "SELECT id, status FROM planning_imports WHERE kind = $1 AND source = $2 AND snapshot_id = $3",
            )
            .bind(sent.kind.code())
            .bind(source)
            .bind(sid)
            .fetch_optional(&mut *tx)
            .await?
        }
        None => None,
    };
    let id = match (same_content, same_snapshot) {
        (Some((id, _)), _) => id,
        (None, Some((id, status))) if status == "rejected" || status == "pending" => {
            // The source corrected a rejected snapshot: validate the new content in its place.
            sqlx::query(
                "UPDATE planning_imports SET content_sha256 = $1, format = $2, file_name = $3, sent_by = $4, sent_at = $5 WHERE id = $6",
            )
            .bind(&staged.sha256)
            .bind(sent.format.code())
            .bind(&file_name)
            .bind(actor.id)
            .bind(db::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            id
        }
        (None, Some((id, _))) => id,
        (None, None) => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO planning_imports (kind, source, snapshot_id, content_sha256, format, file_name, status, sent_by, sent_at, correlation_id)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9) RETURNING id",
            )
            .bind(sent.kind.code())
            .bind(source)
            .bind(snapshot_id)
            .bind(&staged.sha256)
            .bind(sent.format.code())
            .bind(&file_name)
            .bind(actor.id)
            .bind(db::now())
            .bind(uuid::Uuid::new_v4().to_string())
            .fetch_one(&mut *tx)
            .await?;
            audit(
                &mut *tx,
                Some(actor.id),
                "planning_import_received",
                &format!("planning_import:{id}"),
                &format!("{} from {source}: {file_name}", sent.kind.code()),
                ip,
            )
            .await?;
            id
        }
    };
    tx.commit().await?;
    let started = std::time::Instant::now();
    let received = validate(db, limits, actor, id, ip).await;
    if let Ok(r) = &received {
        if !r.already {
            observe(sent.kind, r, started.elapsed());
        }
    }
    received
}

/// Import metrics: duration, rows, and rows of refused snapshots.
fn observe(kind: SnapshotKind, r: &Received, took: std::time::Duration) {
    use crate::server::telemetry::{PLANNING_IMPORT_ROWS, PLANNING_IMPORT_SECONDS};
    let kind = kind.code();
    let status = r.status.clone();
    metrics::histogram!(PLANNING_IMPORT_SECONDS, "kind" => kind, "status" => status.clone())
        .record(took.as_secs_f64());
    metrics::counter!(PLANNING_IMPORT_ROWS, "kind" => kind, "status" => status)
        .increment(r.row_count.max(0) as u64);
}

/// Validates a registered snapshot (again, after a mapping fix): rejected with its report,
/// or the next version with its rows. A version already answers as it is.
pub async fn validate(
    db: &Db,
    limits: &Limits,
    actor: &CurrentUser,
    import_id: i64,
    ip: &str,
) -> Result<Received, PlanningError> {
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT kind, source, content_sha256, format FROM planning_imports WHERE id = $1",
    )
    .bind(import_id)
    .fetch_optional(db)
    .await?;
    let Some((kind, source, sha, format)) = row else {
        return Err(PlanningError::NotFound);
    };
    let kind = SnapshotKind::from_code(&kind).ok_or(PlanningError::NotFound)?;
    if let Some(done) = already_version(db, import_id).await? {
        return Ok(done);
    }
    let catalog = Catalog::load(db).await?;
    let source_format = mapping::source_format(db, &source).await?;
    let path = folder(&limits.upload_dir).join(&sha);
    let (sender, mut rows) = mpsc::channel::<Parsed>(1024);
    let parser = {
        let source_format = source_format.clone();
        let format = Format::from_code(&format);
        tokio::task::spawn_blocking(move || {
            parse_file(&path, format, kind, &source_format, &sender)
        })
    };
    let mut check = Checker::new(kind, catalog, source_format, limits);
    // The bulk writer: keyed by its kind, so the rows it stores (one long transaction)
    // hold up only writers of the same kind and the conservative ones (`db::write`).
    let mut tx = db::write_keyed(db, &[db::LockKey::planning_kind(kind.code())]).await?;
    // Writers of this kind are serialized from here: another validation of the same
    // snapshot waited.
    if let Some(done) = already_version(&mut *tx, import_id).await? {
        drop(rows);
        let _ = parser.await;
        return Ok(done);
    }
    // A task of its own stores the rows, so validating the next batch overlaps storing
    // this one; it hands the transaction back when the batches end.
    let (to_store, mut batches) = mpsc::channel::<Vec<Good>>(2);
    let mut store = Batch::new(kind, import_id, db::backend(db));
    let storing = tokio::spawn(async move {
        while let Some(rows) = batches.recv().await {
            store.rows = rows;
            store.flush(&mut tx).await?;
        }
        Ok::<_, sqlx::Error>(tx)
    });
    let mut batch: Vec<Good> = Vec::with_capacity(BATCH);
    while let Some(parsed) = rows.recv().await {
        match parsed {
            Parsed::Row { row, values } => {
                if let Some(good) = check.row(row, &values) {
                    if check.error_count == 0 {
                        batch.push(good);
                        if batch.len() >= BATCH {
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            if to_store.send(full).await.is_err() {
                                break; // The store failed: its error is below.
                            }
                        }
                    }
                }
            }
            Parsed::Problem(p) => check.problem(p),
            Parsed::Fatal(p) => {
                check.problem(p);
                break;
            }
        }
    }
    drop(rows);
    if check.error_count == 0 && !batch.is_empty() {
        let _ = to_store.send(batch).await;
    }
    drop(to_store);
    let mut tx = storing.await.map_err(|_| sqlx::Error::WorkerCrashed)??;
    if let Err(e) = parser.await {
        tracing::error!(error = %e, import = import_id, "planning parser stopped");
        return Err(PlanningError::Invalid(
            "The file could not be read to the end; send it again.".into(),
        ));
    }
    if check.rows == 0 && check.error_count == 0 {
        check.problem(RowProblem {
            row: 0,
            column: String::new(),
            value: String::new(),
            problem: "The file holds no rows.".into(),
            fix: "Send a header row and at least one row of data.".into(),
        });
    }
    let now = db::now();
    if check.error_count > 0 {
        tx.rollback().await?;
        let mut tx = db::write_keyed(db, &[db::LockKey::planning_kind(kind.code())]).await?;
        clear_report(&mut tx, import_id).await?;
        for chunk in check.problems.chunks(BATCH / 2) {
            let mut sql = String::from(
                "INSERT INTO planning_errors (import_id, row_number, column_name, value, problem, fix) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 6;
                sql.push_str(&format!(
                    "{}(${}, ${}, ${}, ${}, ${}, ${})",
                    if i == 0 { "" } else { ", " },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                ));
            }
            let mut q = sqlx::query(&sql);
            for p in chunk {
                q = q
                    .bind(import_id)
                    .bind(p.row)
                    .bind(storable(&p.column))
                    .bind(storable(&p.value))
                    .bind(storable(&p.problem))
                    .bind(storable(&p.fix));
            }
            q.execute(&mut *tx).await?;
        }
        for ((what, code), count) in &check.unmapped {
            sqlx::query(
                "INSERT INTO planning_unmapped (import_id, what, code, row_count) VALUES ($1, $2, $3, $4)",
            )
            .bind(import_id)
            .bind(*what)
            .bind(storable(code))
            .bind(*count)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE planning_imports SET status = 'rejected', row_count = $1, item_count = 0, error_count = $2, validated_at = $3 WHERE id = $4",
        )
        .bind(check.rows as i64)
        .bind(check.error_count as i64)
        .bind(&now)
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            Some(actor.id),
            "planning_import_rejected",
            &format!("planning_import:{import_id}"),
            &format!("{} problems in {} rows", check.error_count, check.rows),
            ip,
        )
        .await?;
        tx.commit().await?;
        return Ok(Received {
            import_id,
            status: "rejected".into(),
            version: None,
            row_count: check.rows as i64,
            error_count: check.error_count as i64,
            already: false,
            message: format!(
                "Rejected: {} problem{} in {} rows; nothing was applied. Download the report, fix the file or the mapping, and validate again.",
                check.error_count,
                if check.error_count == 1 { "" } else { "s" },
                check.rows
            ),
        });
    }
    clear_report(&mut tx, import_id).await?;
    let (version,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM planning_imports WHERE kind = $1",
    )
    .bind(kind.code())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE planning_imports SET status = 'valid', version = $1, row_count = $2, item_count = $3, error_count = 0, validated_at = $4 WHERE id = $5",
    )
    .bind(version)
    .bind(check.rows as i64)
    .bind(check.items.len() as i64)
    .bind(&now)
    .bind(import_id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut *tx,
        Some(actor.id),
        "planning_version_created",
        &format!("planning_import:{import_id}"),
        &format!("{} version {version}: {} rows", kind.code(), check.rows),
        ip,
    )
    .await?;
    tx.commit().await?;
    // The version is stored: a failing approval rule leaves it for a planner, not a 500.
    let rule = match super::auto_approval::consider(db, actor, import_id, ip, limits.rfqs).await {
        Ok(rule) => rule,
        Err(e) => {
            tracing::error!(import = import_id, error = %e, "approval by rule failed; the version waits for a planner");
            None
        }
    };
    Ok(Received {
        import_id,
        status: if rule.is_some() { "approved" } else { "valid" }.into(),
        version: Some(version),
        row_count: check.rows as i64,
        error_count: 0,
        already: false,
        message: match rule {
            None => format!(
                "Valid: version {version} with {} rows of {} items; it waits for a planner's approval.",
                check.rows,
                check.items.len()
            ),
            Some(rule) => format!(
                "Valid: version {version} with {} rows of {} items, approved by rule: {rule}.",
                check.rows,
                check.items.len()
            ),
        },
    })
}

/// The answer for a snapshot that is a version already.
async fn already_version<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    import_id: i64,
) -> Result<Option<Received>, sqlx::Error> {
    let row: Option<(String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT status, version, row_count FROM planning_imports WHERE id = $1 AND status IN ('valid', 'approved')",
    )
    .bind(import_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(status, version, row_count)| Received {
        import_id,
        message: format!(
            "This snapshot was received before: it is version {} ({status}); nothing new was stored.",
            version.unwrap_or_default()
        ),
        status,
        version,
        row_count,
        error_count: 0,
        already: true,
    }))
}

async fn clear_report(tx: &mut Tx<'_>, import_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM planning_errors WHERE import_id = $1")
        .bind(import_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM planning_unmapped WHERE import_id = $1")
        .bind(import_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Text PostgreSQL can store (no NUL), of a reasonable length.
fn storable(s: &str) -> String {
    s.chars().filter(|c| *c != '\0').take(500).collect()
}

/// What the parser thread hands over.
enum Parsed {
    /// A row's values, in the order of the kind's canonical fields (None: absent or empty).
    Row {
        row: i64,
        values: Vec<Option<String>>,
    },
    /// A row that cannot be read (the rest can).
    Problem(RowProblem),
    /// The file cannot be read further.
    Fatal(RowProblem),
}

fn problem(row: i64, column: &str, value: &str, what: &str, fix: &str) -> RowProblem {
    RowProblem {
        row,
        column: column.to_string(),
        value: value.to_string(),
        problem: what.to_string(),
        fix: fix.to_string(),
    }
}

/// Reads the staged file row by row (on a blocking thread) and sends each row.
fn parse_file(
    path: &Path,
    format: Format,
    kind: SnapshotKind,
    source: &SourceFormat,
    out: &mpsc::Sender<Parsed>,
) {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "staged planning file unreadable");
            let _ = out.blocking_send(Parsed::Fatal(problem(
                0,
                "",
                "",
                "The stored file is gone.",
                "Upload the file again.",
            )));
            return;
        }
    };
    let reader = BufReader::with_capacity(64 * 1024, file);
    match format {
        Format::Csv => parse_csv(reader, kind, source, out),
        Format::Json => parse_json(reader, kind, source, out),
    }
}

const UTF8_FIX: &str = "Save the file as UTF-8 (in a spreadsheet: “CSV UTF-8”).";

fn parse_csv(
    reader: impl std::io::Read,
    kind: SnapshotKind,
    source: &SourceFormat,
    out: &mpsc::Sender<Parsed>,
) {
    let fields = kind.fields();
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(source.delimiter)
        .flexible(true)
        .from_reader(reader);
    let headers = match csv.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let _ = out.blocking_send(Parsed::Fatal(problem(
                1,
                "",
                "",
                &format!("The header row cannot be read: {e}."),
                "Start the file with a header row naming the columns.",
            )));
            return;
        }
    };
    let mut index: Vec<Option<usize>> = vec![None; fields.len()];
    for (col, name) in headers.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(name) else {
            let _ = out.blocking_send(Parsed::Fatal(problem(
                1,
                &String::from_utf8_lossy(name),
                "",
                "The header row is not UTF-8 text.",
                UTF8_FIX,
            )));
            return;
        };
        let field = source.field_of(name);
        if let Some(i) = fields.iter().position(|(f, _)| *f == field) {
            index[i] = Some(col);
        }
    }
    let missing: Vec<&str> = fields
        .iter()
        .zip(&index)
        .filter(|((_, required), at)| *required && at.is_none())
        .map(|((f, _), _)| *f)
        .collect();
    if !missing.is_empty() {
        for f in &missing {
            let _ = out.blocking_send(Parsed::Problem(problem(
                1,
                f,
                "",
                &format!("The column “{f}” is missing."),
                "Add the column to the header row, or map the source's column to it in the source's profile on /planning/mapping.",
            )));
        }
        let _ = out.blocking_send(Parsed::Fatal(problem(
            1,
            "",
            "",
            "Rows were not read: required columns are missing.",
            "Fix the header row and send the file again.",
        )));
        return;
    }
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => {
                let row = e.position().map(|p| p.line() as i64).unwrap_or(0);
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                let p = problem(
                    row,
                    "",
                    "",
                    &format!("The row cannot be read: {e}."),
                    "Check quotes and delimiters on this line.",
                );
                let msg = if fatal {
                    Parsed::Fatal(p)
                } else {
                    Parsed::Problem(p)
                };
                if out.blocking_send(msg).is_err() || fatal {
                    return;
                }
                continue;
            }
        }
        let row = record.position().map(|p| p.line() as i64).unwrap_or(0);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // a blank line
        }
        let mut values = Vec::with_capacity(fields.len());
        let mut bad = None;
        for ((field, _), at) in fields.iter().zip(&index) {
            let raw = at.and_then(|c| record.get(c)).unwrap_or_default();
            match std::str::from_utf8(raw) {
                Ok(s) => values.push(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
                Err(_) => {
                    bad = Some(problem(
                        row,
                        field,
                        &String::from_utf8_lossy(raw),
                        "The value is not UTF-8 text.",
                        UTF8_FIX,
                    ));
                    break;
                }
            }
        }
        let msg = match bad {
            Some(p) => Parsed::Problem(p),
            None => Parsed::Row { row, values },
        };
        if out.blocking_send(msg).is_err() {
            return;
        }
    }
}

/// A JSON array of row objects, or an object with such an array under `rows`, read one
/// element at a time.
fn parse_json(
    reader: impl std::io::Read,
    kind: SnapshotKind,
    source: &SourceFormat,
    out: &mpsc::Sender<Parsed>,
) {
    use serde::de::Deserializer as _;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let visitor = Top(Rows { kind, source, out });
    let result = de.deserialize_any(visitor).and_then(|()| de.end());
    if let Err(e) = result {
        if e.to_string().contains(STOPPED) {
            return;
        }
        let _ = out.blocking_send(Parsed::Fatal(problem(
            e.line() as i64,
            "",
            "",
            &format!("The file is not readable JSON: {e}."),
            "Send UTF-8 JSON: an array of row objects, or {\"rows\": [...]}.",
        )));
    }
}

const STOPPED: &str = "validation stopped reading";

#[derive(Clone, Copy)]
struct Rows<'a> {
    kind: SnapshotKind,
    source: &'a SourceFormat,
    out: &'a mpsc::Sender<Parsed>,
}

struct Top<'a>(Rows<'a>);

impl<'de> serde::de::Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of rows or {\"rows\": [...]}")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.visit_seq(seq)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "rows" {
                map.next_value_seed(self.0)?;
                found = true;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        if !found {
            return Err(serde::de::Error::custom("there is no \"rows\" array"));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Rows<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Rows<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of row objects")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let fields = self.kind.fields();
        let mut row = 0i64;
        while let Some(element) = seq.next_element::<serde_json::Value>()? {
            row += 1;
            let msg = match element {
                serde_json::Value::Object(map) => {
                    let mut values: Vec<Option<String>> = vec![None; fields.len()];
                    for (key, value) in map {
                        let field = self.source.field_of(&key);
                        if let Some(i) = fields.iter().position(|(f, _)| *f == field) {
                            values[i] = match value {
                                serde_json::Value::Null => None,
                                serde_json::Value::String(s) => {
                                    Some(s.trim().to_string()).filter(|s| !s.is_empty())
                                }
                                other => Some(other.to_string()),
                            };
                        }
                    }
                    Parsed::Row { row, values }
                }
                other => Parsed::Problem(problem(
                    row,
                    "",
                    &other.to_string().chars().take(80).collect::<String>(),
                    "The row is not an object.",
                    "Write each row as an object of field names and values.",
                )),
            };
            if self.out.blocking_send(msg).is_err() {
                return Err(serde::de::Error::custom(STOPPED));
            }
        }
        Ok(())
    }
}

/// A row that passed every check, mapped.
enum Good {
    Forecast {
        item: String,
        location: String,
        bucket_start: NaiveDate,
        kind: ForecastKind,
        bucket: Bucket,
        product: i64,
        warehouse: String,
        quantity: Decimal,
        source_quantity: Decimal,
        unit: String,
        safety_stock: Option<Decimal>,
        min: Option<Decimal>,
        max: Option<Decimal>,
    },
    Supply {
        source_id: String,
        item: String,
        location: String,
        product: i64,
        warehouse: String,
        quantity: Decimal,
        source_quantity: Decimal,
        unit: String,
        need_by: NaiveDate,
        vendor: Option<String>,
    },
}

/// The checks of every row, and what they found.
struct Checker {
    kind: SnapshotKind,
    catalog: Catalog,
    format: SourceFormat,
    today: NaiveDate,
    horizon_days: i64,
    seen: planning::KeySeen,
    problems: Vec<RowProblem>,
    error_count: usize,
    unmapped: HashMap<(&'static str, String), i64>,
    items: HashSet<String>,
    rows: usize,
}

impl Checker {
    fn new(kind: SnapshotKind, catalog: Catalog, format: SourceFormat, limits: &Limits) -> Self {
        Checker {
            kind,
            catalog,
            format,
            today: limits.today,
            horizon_days: limits.horizon_days,
            seen: planning::KeySeen::default(),
            problems: Vec::new(),
            error_count: 0,
            unmapped: HashMap::new(),
            items: HashSet::new(),
            rows: 0,
        }
    }

    fn problem(&mut self, p: RowProblem) {
        self.error_count += 1;
        if self.problems.len() < STORED_PROBLEMS {
            self.problems.push(p);
        }
    }

    fn fail(&mut self, row: i64, column: &str, value: &str, what: &str, fix: &str) {
        self.problem(problem(row, column, value, what, fix));
    }

    fn value<'v>(&self, values: &'v [Option<String>], field: &str) -> Option<&'v str> {
        let i = self.kind.fields().iter().position(|(f, _)| *f == field)?;
        values.get(i).and_then(|v| v.as_deref())
    }

    /// A required value, or a problem.
    fn required<'v>(
        &mut self,
        row: i64,
        values: &'v [Option<String>],
        field: &str,
    ) -> Option<&'v str> {
        let v = self.value(values, field);
        if v.is_none() {
            self.fail(
                row,
                field,
                "",
                &format!("The {field} is missing."),
                &format!("Give the {field} on every row."),
            );
        }
        v
    }

    fn quantity(&mut self, row: i64, field: &str, raw: &str) -> Option<Decimal> {
        match planning::parse_quantity(raw, &self.format.number) {
            Ok(q) => Some(q),
            Err(QuantityError::NotANumber) => {
                let example = if self.format.number.decimal_separator == ',' {
                    "12,5"
                } else {
                    "12.5"
                };
                self.fail(
                    row,
                    field,
                    raw,
                    "This is not a number.",
                    &format!("Write a number such as 12 or {example}."),
                );
                None
            }
            Err(QuantityError::Negative) => {
                self.fail(
                    row,
                    field,
                    raw,
                    "The quantity is negative.",
                    "Write 0 or more.",
                );
                None
            }
        }
    }

    fn date(&mut self, row: i64, field: &str, raw: &str) -> Option<NaiveDate> {
        let Some(date) = planning::parse_date(raw, &self.format.date_format) else {
            let example = self.today.format(&self.format.date_format).to_string();
            self.fail(
                row,
                field,
                raw,
                &format!(
                    "This is not a date in the format {}.",
                    self.format.date_format
                ),
                &format!("Write the date like {example}."),
            );
            return None;
        };
        if !planning::within_horizon(date, self.today, PAST_DAYS, self.horizon_days) {
            let from = self.today - chrono::Duration::days(PAST_DAYS);
            let to = self.today + chrono::Duration::days(self.horizon_days);
            self.fail(
                row,
                field,
                raw,
                &format!("The date lies outside the planning horizon ({from} to {to})."),
                "Leave out dates outside the horizon (an admin sets how far ahead it reaches: MILLRACE_PLANNING_HORIZON_DAYS).",
            );
            return None;
        }
        Some(date)
    }

    fn unmapped(&mut self, what: &'static str, code: &str) {
        *self.unmapped.entry((what, code.to_string())).or_default() += 1;
    }

    /// Item, location and unit mapped: (product, warehouse, factor).
    fn mapped(
        &mut self,
        row: i64,
        item: Option<&str>,
        location: Option<&str>,
        unit: Option<&str>,
    ) -> Option<(i64, String, Decimal)> {
        let product = item.and_then(|item| {
            let p = self.catalog.product(item);
            if p.is_none() {
                self.unmapped("item", item);
                self.fail(
                    row,
                    "item",
                    item,
                    "No Odoo product has this internal reference, and no item mapping names it.",
                    "Map the item to a product on /planning/mapping (or use the product's internal reference).",
                );
            }
            p
        });
        let warehouse = location.and_then(|location| {
            let w = self.catalog.warehouse(location).map(str::to_string);
            if w.is_none() {
                self.unmapped("location", location);
                self.fail(
                    row,
                    "location",
                    location,
                    "No warehouse is mapped to this location.",
                    "Map the location to an Odoo warehouse code on /planning/mapping.",
                );
            }
            w
        });
        let factor = unit.and_then(|unit| match self.catalog.unit(unit, product) {
            UnitMatch::Factor(f) => Some(f),
            UnitMatch::OtherUnit { mapped, product } => {
                self.fail(
                    row,
                    "unit",
                    unit,
                    &format!("The unit is mapped to {mapped}, but the product is kept in {product}: it cannot convert."),
                    &format!("Map the unit to {product} with how many {product} one {unit} is."),
                );
                None
            }
            UnitMatch::Unknown => {
                if product.is_some() || item.is_none() {
                    self.unmapped("unit", unit);
                    self.fail(
                        row,
                        "unit",
                        unit,
                        "This is not the product's unit, and no unit mapping names it.",
                        "Map the unit to the product's Odoo unit with its factor on /planning/mapping.",
                    );
                }
                None
            }
        });
        Some((product?, warehouse?, factor?))
    }

    fn row(&mut self, row: i64, values: &[Option<String>]) -> Option<Good> {
        self.rows += 1;
        let before = self.error_count;
        let good = match self.kind {
            SnapshotKind::Forecast => self.forecast(row, values),
            SnapshotKind::Supply => self.supply(row, values),
        };
        if self.error_count > before {
            return None;
        }
        if let Some(Good::Forecast { item, .. } | Good::Supply { item, .. }) = &good {
            if !self.items.contains(item) {
                self.items.insert(item.clone());
            }
        }
        good
    }

    fn forecast(&mut self, row: i64, values: &[Option<String>]) -> Option<Good> {
        let item = self.required(row, values, "item");
        let location = self.required(row, values, "location");
        let unit = self.required(row, values, "unit");
        let mapped = self.mapped(row, item, location, unit);
        let bucket = self.required(row, values, "bucket").and_then(|raw| {
            let b = Bucket::parse(raw);
            if b.is_none() {
                self.fail(
                    row,
                    "bucket",
                    raw,
                    "The bucket length is not day, week or month.",
                    "Write day, week or month.",
                );
            }
            b
        });
        let start = self
            .required(row, values, "bucket_start")
            .and_then(|raw| self.date(row, "bucket_start", raw).map(|d| (raw, d)));
        let start = match (start, bucket) {
            (Some((raw, d)), Some(b)) if !b.aligned(d) => {
                let length = match b {
                    Bucket::Week => "week (a Monday)",
                    Bucket::Month => "month (the 1st)",
                    Bucket::Day => "day",
                };
                self.fail(
                    row,
                    "bucket_start",
                    raw,
                    &format!("The date is not the start of a {length}."),
                    &format!(
                        "Use {}, the start of the {} this date falls in.",
                        b.start_of(d).format(&self.format.date_format),
                        b.code()
                    ),
                );
                None
            }
            (s, _) => s.map(|(_, d)| d),
        };
        let quantity = self
            .required(row, values, "quantity")
            .and_then(|raw| self.quantity(row, "quantity", raw));
        let kind = self.required(row, values, "kind").and_then(|raw| {
            let k = ForecastKind::parse(raw);
            if k.is_none() {
                self.fail(
                    row,
                    "kind",
                    raw,
                    "The forecast kind is not statistical, consensus or override.",
                    "Write statistical, consensus or override.",
                );
            }
            k
        });
        let mut optional = |field: &str| -> Result<Option<Decimal>, ()> {
            match self.value(values, field) {
                None => Ok(None),
                Some(raw) => self.quantity(row, field, raw).map(Some).ok_or(()),
            }
        };
        let safety_stock = optional("safety_stock");
        let min = optional("min");
        let max = optional("max");
        if let (Ok(Some(lo)), Ok(Some(hi))) = (&min, &max) {
            if lo > hi {
                self.fail(
                    row,
                    "min",
                    &lo.to_string(),
                    &format!("The min ({lo}) is above the max ({hi})."),
                    "Give a min at most the max.",
                );
            }
        }
        if let (Ok(Some(lo)), Ok(Some(hi))) = (&safety_stock, &max) {
            if lo > hi {
                self.fail(
                    row,
                    "safety_stock",
                    &lo.to_string(),
                    &format!("The safety stock ({lo}) is above the max ({hi}); Odoo refuses a reordering rule whose min is above its max."),
                    "Give a safety stock at most the max.",
                );
            }
        }
        let (item, location, start, bucket, kind) = (item?, location?, start?, bucket?, kind?);
        match self
            .seen
            .forecast(row as usize, item, location, start, bucket, kind)
        {
            Ok(()) => {}
            Err(KeyClash::Duplicate { first_row }) => {
                self.fail(
                    row,
                    "bucket_start",
                    &start.to_string(),
                    &format!("Row {first_row} has the same item, location, bucket start and kind."),
                    "Keep one of the two rows.",
                );
                return None;
            }
            Err(KeyClash::MixedBuckets { first_row, first }) => {
                self.fail(
                    row,
                    "bucket",
                    bucket.code(),
                    &format!("Row {first_row} plans this item and location in {} buckets; buckets of two lengths overlap.", first.code()),
                    "Use one bucket length per item and location.",
                );
                return None;
            }
        }
        let (product, warehouse, factor) = mapped?;
        let quantity_in_file = quantity?;
        let (safety_stock, min, max) = (safety_stock.ok()?, min.ok()?, max.ok()?);
        Some(Good::Forecast {
            item: item.to_string(),
            location: location.to_string(),
            bucket_start: start,
            kind,
            bucket,
            product,
            warehouse,
            quantity: planning::convert(quantity_in_file, factor),
            source_quantity: quantity_in_file,
            unit: unit?.to_string(),
            safety_stock: safety_stock.map(|q| planning::convert(q, factor)),
            min: min.map(|q| planning::convert(q, factor)),
            max: max.map(|q| planning::convert(q, factor)),
        })
    }

    fn supply(&mut self, row: i64, values: &[Option<String>]) -> Option<Good> {
        let item = self.required(row, values, "item");
        let location = self.required(row, values, "location");
        let unit = self.required(row, values, "unit");
        let mapped = self.mapped(row, item, location, unit);
        let quantity = self
            .required(row, values, "quantity")
            .and_then(|raw| self.quantity(row, "quantity", raw));
        let need_by = self
            .required(row, values, "need_by")
            .and_then(|raw| self.date(row, "need_by", raw));
        let source_id = self.required(row, values, "source_id")?;
        if let Err(KeyClash::Duplicate { first_row } | KeyClash::MixedBuckets { first_row, .. }) =
            self.seen.supply(row as usize, source_id)
        {
            self.fail(
                row,
                "source_id",
                source_id,
                &format!("Row {first_row} has the same recommendation id."),
                "Keep one of the two rows.",
            );
            return None;
        }
        let (product, warehouse, factor) = mapped?;
        let quantity = quantity?;
        Some(Good::Supply {
            source_id: source_id.to_string(),
            item: item?.to_string(),
            location: location?.to_string(),
            product,
            warehouse,
            quantity: planning::convert(quantity, factor),
            source_quantity: quantity,
            unit: unit?.to_string(),
            need_by: need_by?,
            vendor: self.value(values, "vendor").map(str::to_string),
        })
    }
}

/// Rows waiting for their multi-row INSERT.
struct Batch {
    kind: SnapshotKind,
    import_id: i64,
    backend: db::Backend,
    rows: Vec<Good>,
}

/// Placeholders of one row of a multi-row INSERT, its first parameter the `first`th. On
/// SQLite plain `?`, bound in order: SQLite finds a `$N` by a linear scan of the statement's
/// parameter names and sqlx asks for every parameter's name, so binding n `$N` parameters
/// costs n² (a 400-row INSERT of 14 columns bound ~10,000 rows/s; with `?`, ~20 times more).
fn row_placeholders(backend: db::Backend, first: usize, width: usize) -> String {
    match backend {
        db::Backend::Sqlite => vec!["?"; width].join(", "),
        db::Backend::Postgres => db::placeholders(first, width),
    }
}

impl Batch {
    fn new(kind: SnapshotKind, import_id: i64, backend: db::Backend) -> Self {
        Batch {
            kind,
            import_id,
            backend,
            rows: Vec::with_capacity(BATCH),
        }
    }
    async fn flush(&mut self, tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let (head, width) = match self.kind {
            SnapshotKind::Forecast => ("INSERT INTO planning_forecast_rows (import_id, item_code, location_code, bucket_start, kind, bucket, product_odoo_id, warehouse_code, quantity, source_quantity, source_unit, safety_stock, min_qty, max_qty) VALUES ", 14),
            SnapshotKind::Supply => ("INSERT INTO planning_supply_rows (import_id, source_id, item_code, location_code, product_odoo_id, warehouse_code, quantity, source_quantity, source_unit, need_by, vendor) VALUES ", 11),
        };
        let mut sql = String::with_capacity(head.len() + self.rows.len() * width * 6);
        sql.push_str(head);
        for i in 0..self.rows.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_str(&row_placeholders(self.backend, i * width + 1, width));
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for g in self.rows.drain(..) {
            let text = |d: Option<Decimal>| d.map(|d| d.to_string());
            q = match g {
                Good::Forecast {
                    item,
                    location,
                    bucket_start,
                    kind,
                    bucket,
                    product,
                    warehouse,
                    quantity,
                    source_quantity,
                    unit,
                    safety_stock,
                    min,
                    max,
                } => q
                    .bind(self.import_id)
                    .bind(item)
                    .bind(location)
                    .bind(bucket_start.to_string())
                    .bind(kind.code())
                    .bind(bucket.code())
                    .bind(product)
                    .bind(warehouse)
                    .bind(quantity.to_string())
                    .bind(source_quantity.to_string())
                    .bind(unit)
                    .bind(text(safety_stock))
                    .bind(text(min))
                    .bind(text(max)),
                Good::Supply {
                    source_id,
                    item,
                    location,
                    product,
                    warehouse,
                    quantity,
                    source_quantity,
                    unit,
                    need_by,
                    vendor,
                } => q
                    .bind(self.import_id)
                    .bind(source_id)
                    .bind(item)
                    .bind(location)
                    .bind(product)
                    .bind(warehouse)
                    .bind(quantity.to_string())
                    .bind(source_quantity.to_string())
                    .bind(unit)
                    .bind(need_by.to_string())
                    .bind(vendor),
            };
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }
}

/// A snapshot's report as CSV: row, column, value, problem, fix (and a last line saying
/// how many more there were, past the stored ones).
pub async fn report_csv(db: &Db, import_id: i64) -> Result<Option<String>, sqlx::Error> {
    let count: Option<(i64,)> =
        sqlx::query_as("SELECT error_count FROM planning_imports WHERE id = $1")
            .bind(import_id)
            .fetch_optional(db)
            .await?;
    let Some((count,)) = count else {
        return Ok(None);
    };
    let problems = super::problems(db, import_id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["row", "column", "value", "problem", "fix"]);
    for p in &problems {
        let _ = w.write_record([
            p.row.to_string().as_str(),
            &p.column,
            &p.value,
            &p.problem,
            &p.fix,
        ]);
    }
    let more = count - problems.len() as i64;
    if more > 0 {
        let _ = w.write_record([
            "",
            "",
            "",
            &format!("{more} more problems are not listed."),
            "Fix the ones listed and validate again.",
        ]);
    }
    Ok(Some(
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_binds_a_batch_in_order_postgres_by_number() {
        assert_eq!(row_placeholders(db::Backend::Sqlite, 15, 3), "?, ?, ?");
        assert_eq!(
            row_placeholders(db::Backend::Postgres, 15, 3),
            "$15, $16, $17"
        );
    }
}

//! Business monitoring of the planning data (issue 14, part 6): what the buyers' exceptions,
//! the digest and `/metrics` say about it. Per source and kind of snapshot, the newest
//! snapshot decides: refused (with the codes nobody mapped), stuck in validation, or a
//! version older than the expected refresh. Besides: demand signals Odoo did not take
//! (conflicts, dead pushes) per version, and scheduled pulls that failed.

use chrono::NaiveDateTime;

use crate::model::exceptions::PlanningProblem;
use crate::server::db::Db;

/// A snapshot still `pending` this long after it was sent did not finish validating (the
/// process stopped under it); sending it again validates it.
const STUCK_MINUTES: i64 = 30;

/// Codes named per unmapped kind in the detail.
const CODES_SHOWN: usize = 5;

/// The newest snapshot of one source and kind, and its newest version.
struct SourceState {
    kind: String,
    source: String,
    latest_id: i64,
    latest_status: String,
    latest_file: String,
    latest_errors: i64,
    latest_sent_at: String,
    version: Option<(i64, String)>,
}

fn parse_time(t: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(t.get(..19)?, "%Y-%m-%d %H:%M:%S").ok()
}

fn age_words(hours: i64) -> String {
    if hours >= 48 {
        format!("{} days", hours / 24)
    } else {
        format!("{hours} h")
    }
}

/// A source's latest snapshot, with its newest version (valid or approved) if it has one.
#[derive(sqlx::FromRow)]
struct SourceRow {
    kind: String,
    source: String,
    id: i64,
    status: String,
    file_name: String,
    error_count: i64,
    sent_at: String,
    version: Option<i64>,
    version_sent_at: Option<String>,
}

async fn sources(db: &Db) -> Result<Vec<SourceState>, sqlx::Error> {
    let rows: Vec<SourceRow> = sqlx::query_as(
        "SELECT i.kind, i.source, i.id, i.status, i.file_name, i.error_count, i.sent_at, v.version,
                v.sent_at AS version_sent_at
             FROM planning_imports i
             LEFT JOIN planning_imports v ON v.id = (
                 SELECT MAX(x.id) FROM planning_imports x
                 WHERE x.kind = i.kind AND x.source = i.source AND x.status IN ('valid', 'approved'))
             WHERE i.id = (SELECT MAX(y.id) FROM planning_imports y WHERE y.kind = i.kind AND y.source = i.source)
             ORDER BY i.kind, i.source",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SourceState {
            kind: r.kind,
            source: r.source,
            latest_id: r.id,
            latest_status: r.status,
            latest_file: r.file_name,
            latest_errors: r.error_count,
            latest_sent_at: r.sent_at,
            version: r.version.zip(r.version_sent_at),
        })
        .collect())
}

/// The codes the latest validation of `import_id` could not map, one line per kind.
async fn unmapped_lines(db: &Db, import_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = super::unmapped(db, import_id).await?;
    let mut out = Vec::new();
    for what in ["item", "location", "unit"] {
        let of: Vec<_> = rows.iter().filter(|r| r.what == what).collect();
        if of.is_empty() {
            continue;
        }
        let held: i64 = of.iter().map(|r| r.row_count).sum();
        let mut codes: Vec<&str> = of
            .iter()
            .take(CODES_SHOWN)
            .map(|r| r.code.as_str())
            .collect();
        if of.len() > CODES_SHOWN {
            codes.push("…");
        }
        out.push(format!(
            "{} {what}{} not mapped ({held} rows): {}",
            of.len(),
            if of.len() == 1 { "" } else { "s" },
            codes.join(", ")
        ));
    }
    Ok(out)
}

/// Demand signals of a version that Odoo did not take, of one kind (`signal_conflict` or
/// `signal_dead`): how many, since when.
#[derive(sqlx::FromRow)]
struct SignalProblem {
    import_id: i64,
    version: Option<i64>,
    kind: String,
    signal_count: i64,
    since: Option<String>,
}

/// Planning problems as of `now`: refused or stuck snapshots, unmapped codes, stale data.
pub async fn problems(
    db: &Db,
    now: NaiveDateTime,
    refresh_hours: i64,
) -> Result<Vec<PlanningProblem>, sqlx::Error> {
    let mut out = Vec::new();
    for s in sources(db).await? {
        let subject = format!("{} from {}", s.kind, s.source);
        match s.latest_status.as_str() {
            "rejected" => {
                out.push(PlanningProblem {
                    kind: "import_rejected".into(),
                    subject: subject.clone(),
                    detail: format!(
                        "{} was refused with {} problem{}; nothing from it applies.",
                        s.latest_file,
                        s.latest_errors,
                        if s.latest_errors == 1 { "" } else { "s" }
                    ),
                    link: format!("/planning/versions/{}", s.latest_id),
                    since: s.latest_sent_at.clone(),
                });
                for line in unmapped_lines(db, s.latest_id).await? {
                    out.push(PlanningProblem {
                        kind: "unmapped".into(),
                        subject: subject.clone(),
                        detail: format!("{line}; map them and validate {} again.", s.latest_file),
                        link: "/planning/mapping".into(),
                        since: s.latest_sent_at.clone(),
                    });
                }
            }
            "pending" => {
                let stuck = parse_time(&s.latest_sent_at)
                    .is_some_and(|t| (now - t).num_minutes() >= STUCK_MINUTES);
                if stuck {
                    out.push(PlanningProblem {
                        kind: "stuck".into(),
                        subject: subject.clone(),
                        detail: format!(
                            "{} did not finish validating; send it again to validate it.",
                            s.latest_file
                        ),
                        link: format!("/planning/versions/{}", s.latest_id),
                        since: s.latest_sent_at.clone(),
                    });
                }
            }
            _ => {}
        }
        if let Some((version, at)) = &s.version {
            if let Some(t) = parse_time(at) {
                let hours = (now - t).num_hours();
                if hours >= refresh_hours {
                    out.push(PlanningProblem {
                        kind: "stale".into(),
                        subject,
                        detail: format!(
                            "The newest version (v{version}) is {} old; a refresh is expected every {}.",
                            age_words(hours),
                            age_words(refresh_hours)
                        ),
                        link: "/planning".into(),
                        since: at.clone(),
                    });
                }
            }
        }
    }
    // Demand signals Odoo did not take: conflicts waiting on a buyer, pushes given up on.
    let signals: Vec<SignalProblem> = sqlx::query_as(
        "SELECT s.import_id, i.version, CASE WHEN s.state = 'conflict' THEN 'signal_conflict' ELSE 'signal_dead' END AS kind,
                COUNT(*) AS signal_count, MIN(s.created_at) AS since
         FROM planning_signals s JOIN planning_imports i ON i.id = s.import_id LEFT JOIN jobs j ON j.id = s.job_id
         WHERE s.state = 'conflict' OR (s.state = 'pending' AND j.state = 'dead')
         GROUP BY s.import_id, i.version, CASE WHEN s.state = 'conflict' THEN 'signal_conflict' ELSE 'signal_dead' END
         ORDER BY s.import_id",
    )
    .fetch_all(db)
    .await?;
    for SignalProblem {
        import_id,
        version,
        kind,
        signal_count: count,
        since,
    } in signals
    {
        let plural = if count == 1 { "" } else { "s" };
        out.push(PlanningProblem {
            detail: if kind == "signal_conflict" {
                format!("{count} reordering rule{plural} changed in Odoo since the portal wrote them: decide which values stay.")
            } else {
                format!("{count} demand signal{plural} could not be written to Odoo: push them again once Odoo takes them.")
            },
            kind,
            subject: format!("demand signals of version {}", version.unwrap_or_default()),
            link: format!("/planning/signals/{import_id}"),
            since: since.unwrap_or_default(),
        });
    }
    // Scheduled pulls whose last try failed (they are tried again every 15 minutes).
    let failed: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT source, kind, last_message, last_attempt_at FROM planning_pulls WHERE paused = FALSE AND last_status = 'failed' ORDER BY source",
    )
    .fetch_all(db)
    .await?;
    for (source, kind, message, at) in failed {
        out.push(PlanningProblem {
            kind: "pull_failed".into(),
            subject: format!("{kind} from {source}"),
            detail: format!("The scheduled pull failed: {}", message.unwrap_or_default()),
            link: "/planning/sources".into(),
            since: at.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The problems as a viewer sees them: a link to a page only planners open (everything under
/// `/planning` but a version's demand signals, which buyers decide on) is left out for one
/// who does not plan; the problem stays, without a link.
pub fn links_for(mut problems: Vec<PlanningProblem>, plans: bool) -> Vec<PlanningProblem> {
    if !plans {
        for p in &mut problems {
            if !p.link.starts_with("/planning/signals/") {
                p.link.clear();
            }
        }
    }
    problems
}

/// Gauges for `/metrics`: per kind, rows refused in the newest snapshots that were refused,
/// and the age of the newest version (the oldest over sources).
pub async fn gauges(db: &Db, now: NaiveDateTime) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let mut per_kind: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for s in sources(db).await? {
        let entry = per_kind.entry(s.kind.clone()).or_default();
        if s.latest_status == "rejected" {
            entry.0 += s.latest_errors;
        }
        if let Some(t) = s.version.as_ref().and_then(|(_, at)| parse_time(at)) {
            entry.1 = entry.1.max((now - t).num_seconds().max(0));
        }
    }
    Ok(per_kind
        .into_iter()
        .map(|(kind, (errors, age))| (kind, errors, age))
        .collect())
}

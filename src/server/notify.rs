//! Sending the portal's mail. Each mail is a row in `mail_outbox` (to whom, subject, body,
//! when it was sent: the record the demo's mailbox page shows) and a `mail` job queued with
//! it, in the transaction that causes it ([`queue`]); the jobs worker hands the job to the
//! [`Mailer`] when SMTP is configured, which sends it with lettre. A mail server that is down
//! delays mail but loses none (the job is retried with backoff); one that refuses a mail for
//! good leaves a dead job that can be replayed. Without SMTP no instance has the handler, so
//! mail stays queued and only the demo's mailbox page shows it. It does not log bodies or
//! subjects: mail holds password and invitation links.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::outcome::Outcome;
use crate::model::admin::UndeliveredMail;
use crate::server::auth::session::CurrentUser;
use crate::server::auth::users::audit;
use crate::server::db::{self, Db};
use crate::server::jobs;
use crate::server::settings::SmtpSettings;

/// The job kind of one mail to send.
pub const KIND: &str = "mail";

/// How long one SMTP exchange may take (well within the jobs' run budget).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// A `mail` job's payload: the `mail_outbox` row to send. The job holds the id, not the
/// mail, so reset links never sit in job payloads or dead-letter views.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    mail: i64,
}

/// Sends `mail` jobs over SMTP.
pub struct Mailer {
    db: Db,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer for `smtp`, or None (logged) when its settings cannot be used: then mail
    /// stays queued until an instance with usable settings runs.
    pub fn new(db: Db, smtp: &SmtpSettings) -> Option<Arc<Self>> {
        let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose()) {
            Ok(t) => t.timeout(Some(SMTP_TIMEOUT)).build(),
            Err(e) => {
                // The URL holds a password: log the kind of problem, not the URL.
                tracing::error!(error = %e, "MILLRACE_SMTP_URL cannot be used; mail stays queued");
                return None;
            }
        };
        let from: Mailbox = match smtp.from.parse() {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, from = %smtp.from, "MILLRACE_MAIL_FROM is not a mail address; mail stays queued");
                return None;
            }
        };
        Some(Arc::new(Self {
            db,
            transport,
            from,
        }))
    }

    async fn send(&self, job: &jobs::Job) -> Result<jobs::Outcome, sqlx::Error> {
        let Ok(Payload { mail: id }) = serde_json::from_str(&job.payload) else {
            return Ok(jobs::Outcome::Dead {
                why: "not a mail job's payload".into(),
            });
        };
        let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT to_address, subject, body, sent_at FROM mail_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?;
        let Some((to, subject, body, sent_at)) = row else {
            return Ok(jobs::Outcome::Dead {
                why: format!("mail {id} does not exist"),
            });
        };
        // Replayed after all, or its first run sent it and then lost its lease: once is enough.
        if sent_at.is_some() {
            return Ok(jobs::Outcome::Done);
        }
        let message = to
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient: {e}"))
            .and_then(|to| {
                Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body)
                    .map_err(|e| e.to_string())
            });
        let message = match message {
            Ok(m) => m,
            Err(why) => return Ok(jobs::Outcome::Dead { why }),
        };
        if let Err(e) = self.transport.send(message).await {
            // lettre's error text is the server's reply or the connection problem, never the mail.
            tracing::warn!(mail = id, error = %e, attempts = job.attempts + 1, "mail not sent");
            return Ok(if e.is_permanent() {
                // 5xx: the server refuses this mail; sending it again will not change that.
                jobs::Outcome::Dead { why: e.to_string() }
            } else {
                jobs::Outcome::Retry {
                    why: e.to_string(),
                    after: None,
                }
            });
        }
        tracing::info!(mail = id, "mail sent");
        // The mail is out: a failure to record it must not send it again.
        if let Err(e) = sqlx::query("UPDATE mail_outbox SET sent_at = $1 WHERE id = $2")
            .bind(db::now())
            .bind(id)
            .execute(&self.db)
            .await
        {
            tracing::warn!(mail = id, error = %e, "mail sent but not marked sent");
        }
        Ok(jobs::Outcome::Done)
    }
}

impl jobs::Handler for Mailer {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(&'a self, job: &'a jobs::Job) -> BoxFuture<'a, jobs::Outcome> {
        Box::pin(async move {
            self.send(job)
                .await
                .unwrap_or_else(|e| jobs::Outcome::Retry {
                    why: format!("database: {e}"),
                    after: None,
                })
        })
    }

    /// A few connections at a time: a claim of a hundred mails must not open a hundred.
    fn claim_size(&self) -> usize {
        10
    }
}

/// Mail that could not be sent (dead `mail` jobs), oldest first.
pub async fn undelivered(db: &Db) -> Result<Vec<UndeliveredMail>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT m.to_address, m.subject, m.created_at, j.attempts, j.last_error
         FROM jobs j JOIN mail_outbox m ON j.ordering_key = 'mail:' || CAST(m.id AS TEXT)
         WHERE j.kind = $1 AND j.state = 'dead' ORDER BY j.id LIMIT 200",
    )
    .bind(KIND)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(to, subject, queued_at, attempts, error)| UndeliveredMail {
                to,
                subject,
                queued_at,
                attempts,
                error,
            },
        )
        .collect())
}

/// Sends all undelivered mail again (an admin's action, audited).
pub async fn replay_undelivered(
    db: &Db,
    actor: &CurrentUser,
    ip: &str,
) -> Result<Outcome, sqlx::Error> {
    // One conditional update and its audit entry: keyed on no key.
    let mut tx = db::write_keyed(db, &[]).await?;
    let r = sqlx::query(
        "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, done_at = NULL
         WHERE kind = $2 AND state = 'dead'",
    )
    .bind(db::now())
    .bind(KIND)
    .execute(&mut *tx)
    .await?;
    let n = r.rows_affected();
    if n == 0 {
        return Ok(Outcome::already("No undelivered mail to send again."));
    }
    audit(
        &mut *tx,
        Some(actor.id),
        "mail_replayed",
        "mail",
        &format!("{n} mails"),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::done(format!("{n} mails queued again.")))
}

// ------------------------------------------------------------------ templates

/// Mail about one purchase order, to the supplier's users.
pub enum OrderMail<'a> {
    Released {
        order: &'a str,
    },
    Changed {
        order: &'a str,
        changes: &'a str,
    },
    /// The buyer cleared the supplier's answers after a conflict with Odoo.
    AnswerAgain {
        order: &'a str,
    },
}

impl OrderMail<'_> {
    /// (subject, body) for `name`, with a link to the order; `why` says why this address
    /// gets it.
    pub fn render(&self, name: &str, link: &str, why: &str) -> (String, String) {
        match self {
            OrderMail::Released { order } => (
                format!("New purchase order {order}"),
                format!(
                    "Hello {name},\n\nPurchase order {order} was released to you.\nPlease acknowledge it, or answer line by line:\n\n{link}\n\n{why}\n"
                ),
            ),
            OrderMail::AnswerAgain { order } => (
                format!("Please answer purchase order {order} again"),
                format!(
                    "Hello {name},\n\nThe buyer changed purchase order {order} in their system after your answer, and asks you to answer it again with the order as it is now.\n\n{link}\n\n{why}\n"
                ),
            ),
            OrderMail::Changed { order, changes } => (
                format!("Purchase order {order} changed"),
                format!(
                    "Hello {name},\n\nThe buyer changed purchase order {order}: {changes}.\nPlease check it:\n\n{link}\n\n{why}\n"
                ),
            ),
        }
    }
}

/// Queues `mail` for every active user of the supplier who wants order mails, in the
/// transaction that recorded the change (so it is sent once, or not at all).
pub async fn order_mail(
    tx: &mut db::Tx<'_>,
    supplier_id: i64,
    order_id: i64,
    mail: &OrderMail<'_>,
    public_url: &str,
) -> Result<usize, sqlx::Error> {
    let organisation: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT name, order_mail_copy_to FROM suppliers WHERE id = $1 AND notify_orders = TRUE",
    )
    .bind(supplier_id)
    .fetch_optional(&mut **tx)
    .await?;
    // The organisation turned order mail off for everyone.
    let Some((organisation, copy_to)) = organisation else {
        return Ok(0);
    };
    let recipients: Vec<(String, String)> = sqlx::query_as(
        "SELECT email, display_name FROM users
         WHERE supplier_id = $1 AND active = TRUE AND notify_orders = TRUE AND password_hash <> ''",
    )
    .bind(supplier_id)
    .fetch_all(&mut **tx)
    .await?;
    let link = format!("{}/orders/{order_id}", public_url.trim_end_matches('/'));
    for (email, name) in &recipients {
        let (subject, body) = mail.render(
            name,
            &link,
            "You get this mail because order mails are on in your account settings.",
        );
        queue(tx, email, &subject, &body).await?;
    }
    let copy = copy_to.filter(|c| !recipients.iter().any(|(e, _)| e == c));
    if let Some(to) = &copy {
        let (subject, body) = mail.render(
            &organisation,
            &link,
            "This is the copy for your organisation's shared mailbox; your portal admin sets it on the Team page.",
        );
        queue(tx, to, &subject, &body).await?;
    }
    Ok(recipients.len() + usize::from(copy.is_some()))
}

/// Queues one mail in the caller's transaction: it is sent exactly when that commits.
pub async fn queue(
    tx: &mut db::Tx<'_>,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO mail_outbox (to_address, subject, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(db::now())
    .fetch_one(&mut **tx)
    .await?;
    let payload = serde_json::to_string(&Payload { mail: id })
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    // Mails need no order among themselves: a key per mail lets them go out in parallel, and
    // one that is refused (dead) holds up no other.
    jobs::enqueue(tx, KIND, &format!("mail:{id}"), &payload, None).await?;
    Ok(())
}

/// The exceptions digest for buyers and admins: what needs them now, by category, naming
/// the first few of each (`view` is `exceptions::digest`'s: a few of each, and how many).
pub fn digest_body(
    name: &str,
    view: &crate::model::exceptions::ExceptionsView,
    link: &str,
) -> Option<(String, String)> {
    let totals = &view.totals;
    let sections: [(&str, Vec<String>, usize); 7] = [
        (
            "Proposals awaiting a decision",
            view.proposals
                .iter()
                .map(|p| format!("{} · {}: {}", p.order_name, p.supplier_name, p.description))
                .collect(),
            totals.proposals,
        ),
        (
            "Not acknowledged in time",
            view.late_acknowledgments
                .iter()
                .map(|l| {
                    format!(
                        "{} · {}: waiting {} h",
                        l.order_name, l.supplier_name, l.age_hours
                    )
                })
                .collect(),
            totals.late_acknowledgments,
        ),
        (
            "At-risk deliveries",
            view.at_risk
                .iter()
                .map(|r| format!("{} · {}: {}", r.order_name, r.supplier_name, r.why))
                .collect(),
            totals.at_risk,
        ),
        (
            "Received against shipment notices",
            view.discrepancies
                .iter()
                .map(|d| format!("{} · {}: {}", d.order_name, d.supplier_name, d.detail))
                .collect(),
            totals.discrepancies,
        ),
        (
            "Odoo and the supplier disagree",
            view.conflicts
                .iter()
                .map(|c| format!("{} · {}: {}", c.order_name, c.supplier_name, c.summary))
                .collect(),
            totals.conflicts,
        ),
        (
            "Could not be written to Odoo",
            view.sync_problems
                .iter()
                .map(|d| format!("{} · {}", d.order_name.clone().unwrap_or_default(), d.kind))
                .collect(),
            totals.sync_problems,
        ),
        (
            "Planning",
            view.planning
                .iter()
                .map(|p| format!("{}: {}", p.subject, p.detail))
                .collect(),
            view.planning.len(),
        ),
    ];
    let total: usize = sections.iter().map(|(_, _, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut body = format!("Hello {name},\n\n{total} things need the purchasing team:\n");
    for (title, items, n) in &sections {
        if *n == 0 {
            continue;
        }
        body.push_str(&format!("\n{title} ({n})\n"));
        let named = items.len().min(crate::server::exceptions::IN_DIGEST);
        for item in &items[..named] {
            body.push_str(&format!("  - {item}\n"));
        }
        if *n > named {
            body.push_str(&format!("  - and {} more\n", n - named));
        }
    }
    body.push_str(&format!("\nAll of it, with filters: {link}\n\nYou get this digest because it is on in your account settings.\n"));
    Some((
        format!("Millrace: {total} exceptions need the purchasing team"),
        body,
    ))
}

/// Sends the digest to every buyer and admin who wants it and has not had one for
/// `every`; `only` limits it to one user and ignores `every` (a user asking for it now).
/// Returns how many digests were queued.
pub async fn send_digests(
    db: &Db,
    windows: crate::server::exceptions::Windows,
    public_url: &str,
    every: chrono::Duration,
    only: Option<i64>,
) -> Result<usize, sqlx::Error> {
    let due_before = db::at(-every);
    let staff: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT id, email, display_name, role FROM users
         WHERE role IN ('buyer', 'admin') AND active = TRUE AND password_hash <> ''
           AND (($1 = 0 AND notify_digest = TRUE AND (digest_sent_at IS NULL OR digest_sent_at <= $2)) OR id = $1)",
    )
    .bind(only.unwrap_or(0))
    .bind(&due_before)
    .fetch_all(db)
    .await?;
    if staff.is_empty() {
        return Ok(0);
    }
    let link = format!("{}/buyer/exceptions", public_url.trim_end_matches('/'));
    // One digest view per company scope among the recipients (a buyer limited to some
    // companies hears about those only).
    let mut views = std::collections::HashMap::new();
    let mut sent = 0;
    for (id, email, name, role) in staff {
        let role = crate::server::auth::session::Role::from_code(&role)
            .unwrap_or(crate::server::auth::session::Role::Buyer);
        let companies = crate::server::companies::scope_of(db, id, role).await?;
        if !views.contains_key(&companies) {
            let scope = crate::server::exceptions::Scope {
                companies: companies.clone(),
                ..Default::default()
            };
            let view = crate::server::exceptions::digest(db, &scope, windows).await?;
            views.insert(companies.clone(), view);
        }
        let view = &views[&companies];
        // Nothing to say: no mail, and the next check may still send one today.
        let Some((subject, body)) = digest_body(&name, view, &link) else {
            continue;
        };
        // The mail and the day it was sent: an insert and the user's own row, decided under
        // the digest lease (one instance at a time), so keyed on nothing.
        let mut tx = db::write_keyed(db, &[]).await?;
        queue(&mut tx, &email, &subject, &body).await?;
        sqlx::query("UPDATE users SET digest_sent_at = $1 WHERE id = $2")
            .bind(db::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exceptions::{Conflict, ExceptionTotals, ExceptionsView};

    fn view(conflicts: Vec<Conflict>, total: usize) -> ExceptionsView {
        ExceptionsView {
            late_acknowledgments: Vec::new(),
            proposals: Vec::new(),
            at_risk: Vec::new(),
            discrepancies: Vec::new(),
            sync_problems: Vec::new(),
            conflicts,
            planning: Vec::new(),
            suppliers: Vec::new(),
            buyers: Vec::new(),
            totals: ExceptionTotals {
                conflicts: total,
                ..Default::default()
            },
            shown_at_most: Some(crate::server::exceptions::IN_DIGEST),
        }
    }

    #[test]
    fn the_digest_names_conflicts_between_odoo_and_the_supplier() {
        let conflict = Conflict {
            key: "order:7".into(),
            order_id: 7,
            order_name: "P00007".into(),
            supplier_name: "Gemini Furniture".into(),
            kind: "changed_in_odoo".into(),
            summary: "Odoo changed the order after the supplier answered".into(),
            since: "2026-12-01 10:00:00".into(),
            reference: None,
            lines: Vec::new(),
            can_apply: false,
        };
        let (subject, body) = digest_body("Ben", &view(vec![conflict], 12), "http://p/x").unwrap();
        assert!(subject.contains("12 exceptions"), "{subject}");
        assert!(body.contains("Odoo and the supplier disagree (12)"), "{body}");
        assert!(
            body.contains("  - P00007 · Gemini Furniture: Odoo changed the order after the supplier answered\n"),
            "{body}"
        );
        assert!(body.contains("  - and 11 more\n"), "{body}");
        assert!(digest_body("Ben", &view(Vec::new(), 0), "http://p/x").is_none());
    }
}

//! Sending the portal's mail. Mail is written to `mail_outbox` in the transaction that
//! causes it; when SMTP is configured the mailer sends it from there, retrying with backoff,
//! so a mail server that is down delays mail but loses none. Without SMTP the demo's
//! mailbox page shows it.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::server::db::{self, Db};
use crate::server::settings::SmtpSettings;

/// Attempts before a mail is given up (its error stays on the row).
pub const MAX_MAIL_ATTEMPTS: i64 = 10;

pub async fn run_mailer(db: Db, smtp: SmtpSettings, mut shutdown: watch::Receiver<bool>) {
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose()) {
        Ok(t) => t.timeout(Some(Duration::from_secs(20))).build(),
        Err(e) => {
            // The URL holds a password: log the kind of problem, not the URL.
            tracing::error!(error = %e, "MILLRACE_SMTP_URL cannot be used; mail stays in the outbox");
            return;
        }
    };
    let from: Mailbox = match smtp.from.parse() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, from = %smtp.from, "MILLRACE_MAIL_FROM is not a mail address; mail stays in the outbox");
            return;
        }
    };
    loop {
        if let Err(e) = send_due(&db, &transport, &from).await {
            tracing::warn!(error = %e, "mailer could not read the mail outbox");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => break,
        }
    }
}

async fn send_due(
    db: &Db,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> Result<(), sqlx::Error> {
    let now = db::now();
    let due: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, to_address, subject, body, attempts FROM mail_outbox
         WHERE sent_at IS NULL AND attempts < $1 AND (next_attempt_at IS NULL OR next_attempt_at <= $2) ORDER BY id LIMIT 20",
    )
    .bind(MAX_MAIL_ATTEMPTS)
    .bind(&now)
    .fetch_all(db)
    .await?;
    for (id, to, subject, body, attempts) in due {
        // Claim it for five minutes, so another instance does not send it too; if this one
        // dies mid-send, the mail goes out again after that (mail is at least once).
        let claimed = sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = $1
             WHERE id = $2 AND sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $3)",
        )
        .bind(db::at(chrono::Duration::minutes(5)))
        .bind(id)
        .bind(&now)
        .execute(db)
        .await?;
        if claimed.rows_affected() == 0 {
            continue;
        }
        let message = to
            .parse::<Mailbox>()
            .map_err(|e| e.to_string())
            .and_then(|to| {
                Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body)
                    .map_err(|e| e.to_string())
            });
        let outcome = match message {
            Ok(m) => transport
                .send(m)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE mail_outbox SET sent_at = $1, attempts = $2 WHERE id = $3")
                    .bind(db::now())
                    .bind(attempts + 1)
                    .bind(id)
                    .execute(db)
                    .await?;
                tracing::info!(mail = id, "mail sent");
            }
            Err(e) => {
                let wait = chrono::Duration::seconds(30 * (1 << attempts.min(8)));
                sqlx::query("UPDATE mail_outbox SET attempts = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4")
                    .bind(attempts + 1)
                    .bind(&e)
                    .bind(db::at(wait))
                    .bind(id)
                    .execute(db)
                    .await?;
                tracing::warn!(mail = id, error = %e, attempts = attempts + 1, "mail not sent; will retry");
            }
        }
    }
    Ok(())
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
        "SELECT name, order_mail_copy_to FROM suppliers WHERE id = $1 AND notify_orders = 1",
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
         WHERE supplier_id = $1 AND active = 1 AND notify_orders = 1 AND password_hash <> ''",
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

/// Puts one mail in the outbox, in the caller's transaction.
pub async fn queue(
    tx: &mut db::Tx<'_>,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, subject, body, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(db::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The exceptions digest for buyers and admins: what needs them now, by category.
pub fn digest_body(
    name: &str,
    view: &crate::model::exceptions::ExceptionsView,
    link: &str,
) -> Option<(String, String)> {
    let sections: [(&str, Vec<String>); 6] = [
        (
            "Proposals awaiting a decision",
            view.proposals
                .iter()
                .map(|p| format!("{} · {}: {}", p.order_name, p.supplier_name, p.description))
                .collect(),
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
        ),
        (
            "At-risk deliveries",
            view.at_risk
                .iter()
                .map(|r| format!("{} · {}: {}", r.order_name, r.supplier_name, r.why))
                .collect(),
        ),
        (
            "Received against shipment notices",
            view.discrepancies
                .iter()
                .map(|d| format!("{} · {}: {}", d.order_name, d.supplier_name, d.detail))
                .collect(),
        ),
        (
            "Could not be written to Odoo",
            view.sync_problems
                .iter()
                .map(|d| format!("{} · {}", d.order_name.clone().unwrap_or_default(), d.kind))
                .collect(),
        ),
        (
            "Planning",
            view.planning
                .iter()
                .map(|p| format!("{}: {}", p.subject, p.detail))
                .collect(),
        ),
    ];
    let total: usize = sections.iter().map(|(_, items)| items.len()).sum();
    if total == 0 {
        return None;
    }
    let mut body = format!("Hello {name},\n\n{total} things need the purchasing team:\n");
    for (title, items) in &sections {
        if items.is_empty() {
            continue;
        }
        body.push_str(&format!("\n{title} ({})\n", items.len()));
        for item in items.iter().take(10) {
            body.push_str(&format!("  - {item}\n"));
        }
        if items.len() > 10 {
            body.push_str(&format!("  - and {} more\n", items.len() - 10));
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
         WHERE role IN ('buyer', 'admin') AND active = 1 AND password_hash <> ''
           AND (($1 = 0 AND notify_digest = 1 AND (digest_sent_at IS NULL OR digest_sent_at <= $2)) OR id = $1)",
    )
    .bind(only.unwrap_or(0))
    .bind(&due_before)
    .fetch_all(db)
    .await?;
    if staff.is_empty() {
        return Ok(0);
    }
    let link = format!("{}/buyer/exceptions", public_url.trim_end_matches('/'));
    // One overview per company scope among the recipients (a buyer limited to some
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
            let view = crate::server::exceptions::overview(db, &scope, windows).await?;
            views.insert(companies.clone(), view);
        }
        let view = &views[&companies];
        // Nothing to say: no mail, and the next check may still send one today.
        let Some((subject, body)) = digest_body(&name, view, &link) else {
            continue;
        };
        let mut tx = db::write(db).await?;
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

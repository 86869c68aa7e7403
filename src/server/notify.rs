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

//! Mail over SMTP: queued with what causes it, sent by the jobs worker, retried when the mail
//! server defers it, kept as undelivered (and sent again on an admin's word) when it refuses.

use super::*;

/// One message as the fake mail server saw it: its DATA and the code it answered.
struct Received {
    data: String,
    code: u16,
}

/// A minimal SMTP server on port 0 that answers the end of each message's DATA with the next
/// of `answers` (then `250 queued` for good) and hands every message over.
async fn fake_smtp_answering(
    answers: &[&'static str],
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let answers = Arc::new(std::sync::Mutex::new(
        answers.iter().rev().copied().collect::<Vec<_>>(),
    ));
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let answers = answers.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let answer = answers.lock().unwrap().pop().unwrap_or("250 queued");
                            let code = answer[..3].parse().unwrap();
                            let _ = tx.send(Received {
                                data: std::mem::take(body),
                                code,
                            });
                            data = None;
                            write
                                .write_all(format!("{answer}\r\n").as_bytes())
                                .await
                                .unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

/// The app sending its mail to the fake mail server at `url`.
async fn spawn_app_mailing_to(url: String) -> TestApp {
    spawn_app_with(|s| {
        s.smtp = Some(millrace::server::settings::SmtpSettings {
            url: millrace::server::settings::Secret::new(url),
            from: "Portal <portal@example.com>".into(),
        });
    })
    .await
}

async fn next_mail(received: &mut tokio::sync::mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(15), received.recv())
        .await
        .expect("a mail within 15 s")
        .unwrap()
}

/// Nothing more reaches the mail server within `wait`.
async fn no_more_mail(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<Received>,
    wait: Duration,
) {
    if let Ok(Some(extra)) = tokio::time::timeout(wait, received.recv()).await {
        panic!(
            "one mail too many (answered {}): {}",
            extra.code, extra.data
        );
    }
}

async fn request_reset(app: &TestApp, email: &str) {
    let anonymous = Browser::open(&app.url).await;
    let r = anonymous
        .post("/api/password-reset/request", &[("email", email)])
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

/// The `mail` job of the latest mail to `to`: (state, attempts).
async fn mail_job(app: &TestApp, to: &str) -> (String, i64) {
    sqlx::query_as(
        "SELECT j.state, j.attempts FROM jobs j JOIN mail_outbox m ON j.ordering_key = 'mail:' || CAST(m.id AS TEXT)
         WHERE j.kind = 'mail' AND m.to_address = $1 ORDER BY m.id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn mail_sent_at(app: &TestApp, to: &str) -> Option<String> {
    sqlx::query_as::<_, (Option<String>,)>(
        "SELECT sent_at FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.db)
    .await
    .unwrap()
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_smtp_configured_the_reset_mail_is_sent_over_smtp() {
    let (url, mut received) = fake_smtp_answering(&[]).await;
    let app = spawn_app_mailing_to(url).await;
    request_reset(&app, "lea@gemini.example").await;
    let mail = next_mail(&mut received).await.data;
    assert!(mail.contains("To: lea@gemini.example"), "{mail}");
    assert!(
        mail.contains("Subject: Reset your Millrace password"),
        "{mail}"
    );
    assert!(mail.contains("/password-reset/"), "{mail}");
    eventually("the mail is marked sent", || async {
        mail_sent_at(&app, "lea@gemini.example").await.is_some()
    })
    .await;
    // The handler marks the mail sent; the worker records its job done just after.
    eventually("the mail's job is done after one attempt", || async {
        mail_job(&app, "lea@gemini.example").await == (String::from("done"), 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_by_an_action_that_fails_is_never_sent() {
    let (url, mut received) = fake_smtp_answering(&[]).await;
    let app = spawn_app_mailing_to(url).await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let invite = |email: &'static str| {
        let admin = &admin;
        async move {
            admin
                .post(
                    "/api/team/invite",
                    &[
                        ("supplier", ""),
                        ("email", email),
                        ("display_name", "New Buyer"),
                        ("role", "buyer"),
                    ],
                )
                .await
        }
    };
    // The invitation's mail is queued, then its audit entry cannot be written: the whole
    // invitation is rolled back, its mail with it.
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_away")
        .execute(&app.db)
        .await
        .unwrap();
    let r = invite("ghost@millrace.example").await;
    assert!(r.status().is_server_error(), "{}", r.status());
    sqlx::query("ALTER TABLE audit_log_away RENAME TO audit_log")
        .execute(&app.db)
        .await
        .unwrap();
    let r = invite("bea@millrace.example").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);

    let mail = next_mail(&mut received).await.data;
    assert!(mail.contains("To: bea@millrace.example"), "{mail}");
    no_more_mail(&mut received, Duration::from_secs(2)).await;
    let (ghosts,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'ghost@millrace.example'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (jobs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE kind = 'mail'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!((ghosts, jobs), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_the_server_defers_is_sent_again_and_arrives_once() {
    let (url, mut received) = fake_smtp_answering(&["451 4.3.0 try again later"]).await;
    let app = spawn_app_mailing_to(url).await;
    request_reset(&app, "lea@gemini.example").await;
    let first = next_mail(&mut received).await;
    assert_eq!(first.code, 451);
    // The jobs worker retries it after its backoff (about 2 s), not the old mailer's 30 s.
    let second = next_mail(&mut received).await;
    assert_eq!(second.code, 250);
    assert!(
        second.data.contains("To: lea@gemini.example"),
        "{}",
        second.data
    );
    eventually("the mail is marked sent", || async {
        mail_sent_at(&app, "lea@gemini.example").await.is_some()
    })
    .await;
    no_more_mail(&mut received, Duration::from_secs(4)).await;
    assert_eq!(
        mail_job(&app, "lea@gemini.example").await,
        ("done".into(), 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_the_server_refuses_is_undelivered_until_an_admin_sends_it_again() {
    let (url, mut received) = fake_smtp_answering(&["550 5.1.1 mailbox unavailable"]).await;
    let app = spawn_app_mailing_to(url).await;
    request_reset(&app, "lea@gemini.example").await;
    assert_eq!(next_mail(&mut received).await.code, 550);
    eventually("the mail's job is dead", || async {
        mail_job(&app, "lea@gemini.example").await.0 == "dead"
    })
    .await;
    // Refused for good: not tried again by itself.
    no_more_mail(&mut received, Duration::from_secs(4)).await;
    assert_eq!(mail_sent_at(&app, "lea@gemini.example").await, None);

    // Admins see it (never its body: it holds the reset link) and send it again.
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let undelivered = admin.json("/api/admin/mail/undelivered", &[]).await;
    let undelivered = undelivered.as_array().unwrap();
    assert_eq!(undelivered.len(), 1, "{undelivered:?}");
    assert_eq!(undelivered[0]["to"], "lea@gemini.example");
    assert!(
        undelivered[0]["error"]
            .as_str()
            .unwrap()
            .contains("mailbox unavailable"),
        "{undelivered:?}"
    );
    assert!(
        !undelivered[0].to_string().contains("password-reset/"),
        "{undelivered:?}"
    );
    // Only admins.
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    assert_eq!(ana.post("/api/admin/mail/replay", &[]).await.status(), 403);
    assert_eq!(
        ana.get("/api/admin/mail/undelivered", &[]).await.status(),
        403
    );
    let r = admin.post("/api/admin/mail/replay", &[]).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let again = next_mail(&mut received).await;
    assert_eq!(again.code, 250);
    assert!(again.data.contains("/password-reset/"), "{}", again.data);
    eventually("the mail is marked sent", || async {
        mail_sent_at(&app, "lea@gemini.example").await.is_some()
    })
    .await;
    assert_eq!(
        admin.json("/api/admin/mail/undelivered", &[]).await,
        json!([])
    );
    let (audited,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'mail_replayed'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

//! The audit log is written in the transaction of what it records: no action without its entry.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sign_in_or_password_change_happens_without_its_audit_entry() {
    let app = spawn_app().await;
    let audit_rows = |action: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM audit_log WHERE action = $1")
                .bind(action)
                .fetch_one(&db)
                .await
                .unwrap()
                .0
        }
    };
    // The audit log cannot be written (a full disk, a broken table): sign-in fails with it.
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_away")
        .execute(&app.db)
        .await
        .unwrap();
    let mut ana = Browser::open(&app.url).await;
    let r = ana.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(
        r.status().is_server_error(),
        "signed in without an audit entry: {}",
        r.status()
    );
    assert_eq!(
        ana.orders_page("", "").await.status(),
        401,
        "no session was made"
    );
    let (attempts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_attempts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(attempts, 0, "the attempt went with its entry");
    sqlx::query("ALTER TABLE audit_log_away RENAME TO audit_log")
        .execute(&app.db)
        .await
        .unwrap();

    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    assert_eq!(audit_rows("login").await, 1);

    // A password change is the new password, the end of the sessions and the entry, at once.
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_away")
        .execute(&app.db)
        .await
        .unwrap();
    let r = ana
        .post(
            "/api/account/password",
            &[
                ("current", "gemini-demo-pass"),
                ("password", "a-new-long-passphrase-2026"),
                ("confirm", "a-new-long-passphrase-2026"),
            ],
        )
        .await;
    assert!(r.status().is_server_error(), "{}", r.status());
    sqlx::query("ALTER TABLE audit_log_away RENAME TO audit_log")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(audit_rows("password_changed").await, 0);
    let mut again = Browser::open(&app.url).await;
    assert!(
        again
            .sign_in("ana@gemini.example", "gemini-demo-pass")
            .await
            .status()
            .as_u16()
            < 400,
        "the old password still works: the change did not happen"
    );
}

//! The storage layer on both databases, side by side: every test here runs once on a
//! fresh SQLite file and once on a fresh PostgreSQL database (the throwaway server, or
//! `MILLRACE_TEST_POSTGRES_URL`), and must behave the same on each.

use std::time::Duration;

use millrace::server::auth::session::Role;
use millrace::server::db::{self, Backend, Db, LockKey};
use millrace::server::sync::lease;

/// A fresh database of each kind, migrated (the folder holds the SQLite file).
async fn both() -> (Vec<(Backend, Db)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let postgres = db::throwaway::fresh_database()
        .await
        .expect("a throwaway PostgreSQL database");
    let mut out = Vec::new();
    for url in [sqlite, postgres] {
        let backend = Backend::of(&url).unwrap();
        out.push((backend, db::open(&url).await.unwrap()));
    }
    (out, dir)
}

#[tokio::test]
async fn migrations_are_all_applied_and_both_backends_have_the_same_versions() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(
            applied as usize,
            backend.migrator().iter().count(),
            "{backend:?}"
        );
        // Both backends carry the same versions.
        let versions: Vec<i64> = backend.migrator().iter().map(|m| m.version).collect();
        let other = match backend {
            Backend::Sqlite => Backend::Postgres,
            Backend::Postgres => Backend::Sqlite,
        };
        let other_versions: Vec<i64> = other.migrator().iter().map(|m| m.version).collect();
        assert_eq!(versions, other_versions);
    }
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_runs_out_or_is_released() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let ttl = Duration::from_secs(60);
        assert!(
            lease::hold(&db, "poller:x", "a", ttl).await.unwrap(),
            "{backend:?}"
        );
        assert!(
            !lease::hold(&db, "poller:x", "b", ttl).await.unwrap(),
            "{backend:?}"
        );
        // The holder renews; another lease name is independent.
        assert!(lease::hold(&db, "poller:x", "a", ttl).await.unwrap());
        assert!(lease::hold(&db, "poller:y", "b", ttl).await.unwrap());
        // A request from a standby reaches the holder once.
        lease::request_run(&db, "poller:x").await.unwrap();
        assert!(!lease::take_request(&db, "poller:x", "b").await.unwrap());
        assert!(lease::take_request(&db, "poller:x", "a").await.unwrap());
        assert!(!lease::take_request(&db, "poller:x", "a").await.unwrap());
        // Released: the next one takes it at once.
        lease::release(&db, "poller:x", "a").await.unwrap();
        assert!(
            lease::hold(&db, "poller:x", "b", ttl).await.unwrap(),
            "{backend:?}"
        );
        // Run out: taken over.
        assert!(lease::hold(&db, "poller:z", "a", Duration::from_secs(0))
            .await
            .unwrap());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            lease::hold(&db, "poller:z", "b", ttl).await.unwrap(),
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_are_serialized_so_read_then_write_loses_no_update() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        sqlx::query(
            "INSERT INTO sync_cursors (model, last_write_date, seen_ids, updated_at) VALUES ('counter', '0', '[]', '')",
        )
        .execute(&db)
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db::write(&db).await.unwrap();
                let (n,): (String,) = sqlx::query_as(
                    "SELECT last_write_date FROM sync_cursors WHERE model = 'counter'",
                )
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                let next = n.parse::<i64>().unwrap() + 1;
                sqlx::query("UPDATE sync_cursors SET last_write_date = $1 WHERE model = 'counter'")
                    .bind(next.to_string())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (n,): (String,) =
            sqlx::query_as("SELECT last_write_date FROM sync_cursors WHERE model = 'counter'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(n, "20", "{backend:?}: every increment kept");
    }
}

/// A buyer named Ana with the password "a-long-password-1".
async fn buyer(db: &Db, email: &str) -> i64 {
    account(db, email, Role::Buyer).await
}

/// A staff account named Ana with the password "a-long-password-1".
async fn account(db: &Db, email: &str, role: Role) -> i64 {
    millrace::server::auth::users::create_user(db, email, "Ana", "a-long-password-1", role, None)
        .await
        .unwrap()
}

/// An admin, as the server functions see them.
async fn admin(db: &Db) -> millrace::server::auth::session::CurrentUser {
    millrace::server::auth::session::CurrentUser {
        id: account(db, "root@example.com", Role::Admin).await,
        email: "root@example.com".into(),
        display_name: "Root".into(),
        role: Role::Admin,
        supplier_id: None,
        supplier_name: None,
        time_zone: "UTC".into(),
        companies: Default::default(),
    }
}

/// Supplier 1, for orders to belong to.
async fn supplier_one(db: &Db) {
    sqlx::query(
        "INSERT INTO suppliers (id, name, odoo_partner_id, created_at) VALUES (1, 'S', 1, '')",
    )
    .execute(db)
    .await
    .unwrap();
}

/// A planning import's transaction, held open (it runs for seconds at 100,000 rows).
async fn import_held(db: &Db) -> db::Tx<'static> {
    db::write_keyed(db, &[LockKey::planning_kind("forecast")])
        .await
        .unwrap()
}

/// Asserts `task` goes on while the import `held` runs on PostgreSQL (on SQLite, with one
/// writer, it waits), then lets the import commit and `task` finish.
async fn runs_beside_the_import(
    held: db::Tx<'static>,
    task: tokio::task::JoinHandle<()>,
    backend: Backend,
    what: &str,
) {
    assert_eq!(
        waits(&task).await,
        backend == Backend::Sqlite,
        "{backend:?}: {what}"
    );
    held.commit().await.unwrap();
    finishes(task).await;
}

/// Whether `task` is still waiting after half a second (it is never cancelled: a dropped
/// lock request would stay queued in PostgreSQL and hold up the next ones).
async fn waits(task: &tokio::task::JoinHandle<()>) -> bool {
    tokio::time::sleep(Duration::from_millis(500)).await;
    !task.is_finished()
}

/// A writer that begins with `keys` (None: the conservative `db::write`), takes the feed
/// lock if asked, runs `sql` if any, and commits.
fn writer(
    db: &Db,
    keys: Option<Vec<LockKey>>,
    feed: bool,
    sql: Option<&'static str>,
) -> tokio::task::JoinHandle<()> {
    let db = db.clone();
    tokio::spawn(async move {
        let mut tx = match keys {
            Some(keys) => db::write_keyed(&db, &keys).await.unwrap(),
            None => db::write(&db).await.unwrap(),
        };
        if feed {
            db::feed(&mut tx).await.unwrap();
        }
        if let Some(sql) = sql {
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    })
}

async fn finishes(task: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the writer went on once the lock was released")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_writers_of_other_keys_run_beside_each_other_on_postgres_and_wait_otherwise() {
    let (databases, _dir) = both().await;
    let (a, b, c) = (
        LockKey::order(1),
        LockKey::order(2),
        LockKey::planning_kind("forecast"),
    );
    for (backend, db) in databases {
        let parallel = backend == Backend::Postgres;
        // Order 1 held: a writer of another key goes on at once on PostgreSQL (SQLite has
        // one writer: it waits); one of the same key, or a conservative one, waits.
        let mut held = db::write_keyed(&db, &[a, c]).await.unwrap();
        let other = writer(&db, Some(vec![b]), false, None);
        assert_eq!(waits(&other).await, !parallel, "{backend:?}: another key");
        let same = writer(&db, Some(vec![b, a]), false, None);
        assert!(waits(&same).await, "{backend:?}: the same key waits");
        let all = writer(&db, None, false, None);
        assert!(
            waits(&all).await,
            "{backend:?}: db::write waits for keyed writers"
        );
        // The feed lock: two keyed writers of other keys still insert into the feeds one
        // after the other, the first until it commits.
        db::feed(&mut held).await.unwrap();
        db::feed(&mut held).await.unwrap(); // taken again: free
        held.commit().await.unwrap();
        for t in [other, same, all] {
            finishes(t).await;
        }
        let mut first = db::write_keyed(&db, &[a]).await.unwrap();
        db::feed(&mut first).await.unwrap();
        let second = writer(&db, Some(vec![b]), true, None);
        assert!(waits(&second).await, "{backend:?}: the feed lock waits");
        first.commit().await.unwrap();
        finishes(second).await;
        // A conservative writer held: every keyed writer waits.
        let conservative = db::write(&db).await.unwrap();
        let keyed = writer(&db, Some(vec![b]), false, None);
        assert!(
            waits(&keyed).await,
            "{backend:?}: keyed writers wait for db::write"
        );
        conservative.commit().await.unwrap();
        finishes(keyed).await;
    }
}

/// Two first stores of the same Odoo order: the second waits for the first (both take the
/// new order's key), then finds the order stored and holds its portal key instead, so it
/// excludes the supplier's answers on that order as any keyed writer of it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_first_store_of_an_odoo_order_ends_up_keyed_by_the_stored_order() {
    use millrace::server::order_events::write_for_odoo_order;
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        supplier_one(&db).await;
        let mut first = write_for_odoo_order(&db, 77).await.unwrap();
        let (tx_to_second, second_tx) = tokio::sync::oneshot::channel();
        let (release_second, released) = tokio::sync::oneshot::channel::<()>();
        let second = tokio::spawn({
            let db = db.clone();
            async move {
                let tx = write_for_odoo_order(&db, 77).await.unwrap();
                tx_to_second.send(()).unwrap();
                released.await.unwrap();
                tx.commit().await.unwrap();
            }
        });
        assert!(waits(&second).await, "{backend:?}: the same new order waits");
        // Another new order does not, on PostgreSQL.
        let other = tokio::spawn({
            let db = db.clone();
            async move { write_for_odoo_order(&db, 78).await.unwrap().commit().await.unwrap() }
        });
        assert_eq!(
            waits(&other).await,
            backend == Backend::Sqlite,
            "{backend:?}: another new order"
        );
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO purchase_orders (odoo_id, name, supplier_id, odoo_state, odoo_write_date, status, synced_at)
             VALUES (77, 'P77', 1, 'purchase', '', 'new', '') RETURNING id",
        )
        .fetch_one(&mut *first)
        .await
        .unwrap();
        first.commit().await.unwrap();
        second_tx.await.unwrap();
        // The second now holds the stored order's key: a writer of that order waits.
        let answer = writer(&db, Some(vec![LockKey::order(id)]), false, None);
        assert!(waits(&answer).await, "{backend:?}: the order's writer waits");
        release_second.send(()).unwrap();
        for t in [second, answer, other] {
            finishes(t).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_reset_requests_do_not_wait_for_a_long_keyed_writer_on_postgres() {
    use millrace::server::auth::{reset, users};
    use std::sync::Arc;
    use tower_sessions::{MemoryStore, Session};
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let parallel = backend == Backend::Postgres;
        let user = buyer(&db, "ana@example.com").await;
        let held = import_held(&db).await;
        let sign_in = tokio::spawn({
            let db = db.clone();
            async move {
                let session = Session::new(None, Arc::new(MemoryStore::default()), None);
                let r = users::sign_in(&db, &session, "ana@example.com", "a-long-password-1", "ip")
                    .await;
                assert_eq!(r, Ok(user));
            }
        });
        assert_eq!(waits(&sign_in).await, !parallel, "{backend:?}: sign-in");
        let reset = tokio::spawn({
            let db = db.clone();
            async move {
                reset::request(&db, "ana@example.com", "http://portal", "ip")
                    .await
                    .unwrap();
            }
        });
        assert_eq!(waits(&reset).await, !parallel, "{backend:?}: reset request");
        // A conservative writer still waits for it, as before.
        let conservative = writer(&db, None, false, None);
        assert!(waits(&conservative).await, "{backend:?}: db::write waits");
        held.commit().await.unwrap();
        for t in [sign_in, reset, conservative] {
            finishes(t).await;
        }
        // Both were written, with their audit entries.
        let (attempts, audits, links): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM login_attempts), (SELECT COUNT(*) FROM audit_log WHERE action IN ('login', 'password_reset_requested')), (SELECT COUNT(*) FROM password_reset_tokens)",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!((attempts, audits, links), (1, 2, 1), "{backend:?}");
    }
}

/// An admin's changes to accounts, tokens, an organisation's settings and the mail queue
/// do not wait for a planning import on PostgreSQL: each is keyed by what it decides on
/// (the user, the organisation, the form's key) or is one conditional statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_account_and_settings_changes_do_not_wait_for_a_long_keyed_writer_on_postgres() {
    use millrace::server::{admin, notify, tokens};
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        supplier_one(&db).await;
        let ana = buyer(&db, "ana@example.com").await;
        let root = admin(&db).await;
        let held = import_held(&db).await;
        let changes = tokio::spawn({
            let db = db.clone();
            async move {
                let created = tokens::create(
                    &db,
                    &root,
                    None,
                    "ERP",
                    &[tokens::Scope::OrdersRead],
                    None,
                    "ip",
                    Some("form-1"),
                )
                .await
                .unwrap();
                assert!(created.secret.is_some());
                let (token,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM api_tokens")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                let revoked = tokens::revoke(&db, &root, token, "ip", None).await.unwrap();
                assert!(!revoked.already);
                let again = tokens::revoke(&db, &root, token, "ip", None).await.unwrap();
                assert!(again.already, "{again:?}");
                let off = admin::set_active(&db, &root, ana, false, "ip", None).await.unwrap();
                assert!(!off.already);
                let input = admin::SettingsInput {
                    ack_window_hours: "12",
                    date_tolerance_days: "2",
                    quantity_tolerance_percent: "5",
                    over_delivery_percent: "",
                };
                let set = admin::update_settings(&db, &root, 1, &input, "ip", None)
                    .await
                    .unwrap();
                assert!(!set.already);
                let replayed = notify::replay_undelivered(&db, &root, "ip").await.unwrap();
                assert!(replayed.already, "no dead mail: {replayed:?}");
            }
        });
        runs_beside_the_import(held, changes, backend, "the admin's changes").await;
        let (active, ack): (i64, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM users WHERE id = $1 AND active = TRUE), (SELECT ack_window_hours FROM suppliers WHERE id = 1)",
        )
        .bind(ana)
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!((active, ack), (0, Some(12)), "{backend:?}");
    }
}

/// Managing a webhook subscription (create, rotate its secret, pause and resume, a test
/// delivery, replaying its dead letters) does not wait for a planning import on PostgreSQL:
/// each takes the subscription's key (creating one, the form's key alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managing_a_webhook_does_not_wait_for_a_long_keyed_writer_on_postgres() {
    use millrace::server::secrets::SealingKeys;
    use millrace::server::webhooks::{self, Change};
    let keys = SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap();
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let root = admin(&db).await;
        let held = import_held(&db).await;
        let manage = tokio::spawn({
            let db = db.clone();
            let keys = keys.clone();
            async move {
                let created = webhooks::create(
                    &db,
                    Some(&keys),
                    true,
                    &root,
                    None,
                    "ERP",
                    "http://127.0.0.1:9/hooks",
                    &[],
                    "ip",
                    Some("form-1"),
                )
                .await
                .unwrap();
                assert!(created.secret.is_some());
                let (id,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM webhook_subscriptions")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                let rotated = webhooks::rotate(&db, Some(&keys), &root, id, "ip", None)
                    .await
                    .unwrap();
                assert!(rotated.secret.is_some());
                for change in [Change::Pause, Change::Resume] {
                    let r = webhooks::change(&db, &root, id, change, "ip").await.unwrap();
                    assert!(!r.already, "{r:?}");
                }
                let tested = webhooks::send_test(&db, &root, id, None).await.unwrap();
                assert!(!tested.already);
                let replayed = webhooks::replay(&db, &root, id, "ip").await.unwrap();
                assert!(replayed.already, "no dead letters: {replayed:?}");
            }
        });
        runs_beside_the_import(held, manage, backend, "managing a webhook").await;
    }
}

/// The hourly prune of old events, jobs and delivery attempts does not wait for a planning
/// import on PostgreSQL (nor, waiting, hold up the keyed writers behind it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prune_does_not_wait_for_a_long_keyed_writer_on_postgres() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        for (id, at) in [(1, "2020-01-01 00:00:00"), (2, "2020-01-02 00:00:00")] {
            sqlx::query(
                "INSERT INTO events (id, type, occurred_at, payload) VALUES ($1, 'order.released', $2, '{}')",
            )
            .bind(id)
            .bind(at)
            .execute(&db)
            .await
            .unwrap();
        }
        let held = import_held(&db).await;
        let prune = tokio::spawn({
            let db = db.clone();
            async move {
                let removed = millrace::server::events::prune(&db, "2021-01-01 00:00:00")
                    .await
                    .unwrap();
                assert_eq!(removed, 1, "the older event; the newest stays");
            }
        });
        runs_beside_the_import(held, prune, backend, "the prune").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_takes_the_feed_lock_so_count_rows_are_updated_one_writer_at_a_time() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        supplier_one(&db).await;
        for id in [1, 2] {
            sqlx::query(
                "INSERT INTO purchase_orders (id, odoo_id, name, supplier_id, odoo_state, odoo_write_date, status, synced_at)
                 VALUES ($1, $1, 'P', 1, 'purchase', '', 'new', '')",
            )
            .bind(id)
            .execute(&db)
            .await
            .unwrap();
        }
        // Order 1 is keyed and holds the feed; order 2's status change (a trigger updates
        // the supplier's count rows) waits for it, whatever its own key.
        let mut held = db::write_keyed(&db, &[LockKey::order(1)]).await.unwrap();
        db::feed(&mut held).await.unwrap();
        let change = writer(
            &db,
            Some(vec![LockKey::order(2)]),
            false,
            Some("UPDATE purchase_orders SET status = 'acknowledged' WHERE id = 2"),
        );
        assert!(waits(&change).await, "{backend:?}");
        sqlx::query("UPDATE purchase_orders SET status = 'acknowledged' WHERE id = 1")
            .execute(&mut *held)
            .await
            .unwrap();
        held.commit().await.unwrap();
        finishes(change).await;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT orders FROM order_status_counts WHERE supplier_id = 1 AND status = 'acknowledged'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(n, 2, "{backend:?}");
    }
}

#[tokio::test]
async fn emails_are_one_account_whatever_their_case() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let id = buyer(&db, "Ana@Example.COM").await;
        let again = millrace::server::auth::users::create_user(
            &db,
            "ana@example.com",
            "Ana again",
            "a-long-password-1",
            Role::Buyer,
            None,
        )
        .await;
        assert!(
            again.is_err(),
            "{backend:?}: a second account for the same address"
        );
        let (email,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(email, "ana@example.com");
    }
}

#[tokio::test]
async fn text_search_ignores_case_and_treats_wildcards_as_text_on_both() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        for (partner, name) in [
            (1, "Gemini 100% Oak"),
            (2, "gemini_birch"),
            (3, "Woodcorner"),
        ] {
            sqlx::query(
                "INSERT INTO suppliers (name, odoo_partner_id, created_at) VALUES ($1, $2, '')",
            )
            .bind(name)
            .bind(partner)
            .execute(&db)
            .await
            .unwrap();
        }
        let search = |pattern: &'static str| {
            let db = db.clone();
            async move {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT name FROM suppliers WHERE LOWER(name) LIKE $1 ESCAPE '\\' ORDER BY name",
                )
                .bind(pattern)
                .fetch_all(&db)
                .await
                .unwrap();
                rows.into_iter().map(|(n,)| n).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            search("%gemini%").await,
            ["Gemini 100% Oak", "gemini_birch"],
            "{backend:?}"
        );
        assert_eq!(search("%100\\%%").await, ["Gemini 100% Oak"], "{backend:?}");
        assert_eq!(search("%i\\_b%").await, ["gemini_birch"], "{backend:?}");
    }
}

/// The database at `url` with the schema as it was before migration `version`: the
/// migrations before it, run from a copy of their folder.
async fn migrated_before(url: &str, version: u32) -> sqlx::AnyPool {
    let folder = match Backend::of(url).unwrap() {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let before = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name[..4].parse::<u32>().unwrap() < version {
            std::fs::copy(&path, before.path().join(&name)).unwrap();
        }
    }
    let old = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::migrate::Migrator::new(before.path())
        .await
        .unwrap()
        .run(&old)
        .await
        .unwrap();
    old
}

/// An upgrade from before mail ran on jobs (migration 85) loses no queued mail: each unsent
/// mail becomes a pending `mail` job, one the old mailer had given up on a dead one, and sent
/// mail stays as it was.
#[tokio::test]
async fn upgrading_turns_unsent_mail_into_mail_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("u.db").display());
    let postgres = db::throwaway::fresh_database()
        .await
        .expect("a throwaway PostgreSQL database");
    sqlx::any::install_default_drivers();
    for url in [sqlite, postgres] {
        let backend = Backend::of(&url).unwrap();
        let old = migrated_before(&url, 85).await;
        for (to, sent_at, attempts, error) in [
            ("sent@example.com", Some("2026-01-01 10:00:00"), 1, None),
            ("queued@example.com", None, 0, None),
            ("retrying@example.com", None, 3, Some("451 try later")),
            ("refused@example.com", None, 10, Some("550 no such user")),
        ] {
            sqlx::query("INSERT INTO mail_outbox (to_address, subject, body, created_at, sent_at, attempts, next_attempt_at, last_error) VALUES ($1, 'Hello', 'body', '2026-01-01 09:00:00', $2, $3, '2026-01-01 11:00:00', $4)")
                .bind(to)
                .bind(sent_at)
                .bind(attempts)
                .bind(error)
                .execute(&old)
                .await
                .unwrap();
        }
        old.close().await;

        let db = db::open(&url).await.unwrap();
        let jobs: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT m.to_address, j.state, j.attempts, j.last_error FROM jobs j
             JOIN mail_outbox m ON j.ordering_key = 'mail:' || CAST(m.id AS TEXT)
             WHERE j.kind = 'mail' AND j.payload = '{\"mail\":' || CAST(m.id AS TEXT) || '}' ORDER BY m.id",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert_eq!(
            jobs,
            vec![
                ("queued@example.com".into(), "pending".into(), 0, None),
                (
                    "retrying@example.com".into(),
                    "pending".into(),
                    3,
                    Some("451 try later".into())
                ),
                (
                    "refused@example.com".into(),
                    "dead".into(),
                    10,
                    Some("550 no such user".into())
                ),
            ],
            "{backend:?}"
        );
        let (sent,): (Option<String>,) =
            sqlx::query_as("SELECT sent_at FROM mail_outbox WHERE to_address = 'sent@example.com'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(sent.as_deref(), Some("2026-01-01 10:00:00"), "{backend:?}");
    }
}

/// An upgrade from before the Odoo outbox ran on jobs (migration 86) loses nothing and keeps
/// each order's messages in order: every message still waiting for Odoo becomes a pending
/// `odoo.outbox` job keyed by its order, a dead or conflicting one a dead job that holds its
/// order's later messages, delivered ones get none; a replayed dead letter's job is due
/// again.
#[tokio::test]
async fn upgrading_puts_the_odoo_outbox_on_jobs_in_order() {
    use millrace::server::sync::outbox;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("u.db").display());
    let postgres = db::throwaway::fresh_database()
        .await
        .expect("a throwaway PostgreSQL database");
    sqlx::any::install_default_drivers();
    for url in [sqlite, postgres] {
        let backend = Backend::of(&url).unwrap();
        let old = migrated_before(&url, 86).await;
        // Order 7: delivered, dead, then two waiting behind it; order 9: one waiting, leased
        // by an instance that was stopped for the upgrade; order 11: in conflict.
        for (corr, order, status, attempts, error, lease) in [
            ("mr-1", 7, "delivered", 1, None, None),
            ("mr-2", 7, "dead", 8, Some("odoo refused: no"), None),
            ("mr-3", 7, "pending", 0, None, None),
            (
                "mr-4",
                9,
                "pending",
                2,
                Some("timeout"),
                Some("2026-01-01 12:00:00"),
            ),
            ("mr-5", 7, "pending", 0, None, None),
            ("mr-6", 11, "conflict", 1, Some("the buyer moved it"), None),
        ] {
            sqlx::query("INSERT INTO outbox_messages (correlation_id, order_odoo_id, kind, payload, status, attempts, next_attempt_at, last_error, lease_until, lease_owner, created_at) VALUES ($1, $2, 'note', '{}', $3, $4, '2026-01-01 11:00:00', $5, $6, $7, '2026-01-01 09:00:00')")
                .bind(corr)
                .bind(order as i64)
                .bind(status)
                .bind(attempts as i64)
                .bind(error)
                .bind(lease)
                .bind(lease.map(|_| "old-instance/1"))
                .execute(&old)
                .await
                .unwrap();
        }
        old.close().await;

        let db = db::open(&url).await.unwrap();
        let jobs: Vec<(String, String, String, i64, Option<String>, Option<String>)> =
            sqlx::query_as(
                "SELECT m.correlation_id, j.ordering_key, j.state, j.attempts, j.last_error, j.lease_until
                 FROM outbox_messages m JOIN jobs j ON j.id = m.job_id
                 WHERE j.kind = 'odoo.outbox' AND j.correlation_id = m.correlation_id ORDER BY j.id",
            )
            .fetch_all(&db)
            .await
            .unwrap();
        let expected: Vec<(String, String, String, i64, Option<String>, Option<String>)> = vec![
            ("mr-2", "odoo.order:7", "dead", 8, Some("odoo refused: no")),
            ("mr-3", "odoo.order:7", "pending", 0, None),
            ("mr-4", "odoo.order:9", "pending", 2, Some("timeout")),
            ("mr-5", "odoo.order:7", "pending", 0, None),
            (
                "mr-6",
                "odoo.order:11",
                "dead",
                1,
                Some("the buyer moved it"),
            ),
        ]
        .into_iter()
        .map(|(c, k, s, a, e)| {
            (
                c.to_string(),
                k.to_string(),
                s.to_string(),
                a,
                e.map(str::to_string),
                None,
            )
        })
        .collect();
        assert_eq!(jobs, expected, "{backend:?}");
        let (delivered_job,): (Option<i64>,) =
            sqlx::query_as("SELECT job_id FROM outbox_messages WHERE correlation_id = 'mr-1'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(delivered_job, None, "{backend:?}");

        // Replaying the dead letter puts its job back in line, ahead of its order's others.
        let (dead_id,): (i64,) =
            sqlx::query_as("SELECT id FROM outbox_messages WHERE correlation_id = 'mr-2'")
                .fetch_one(&db)
                .await
                .unwrap();
        let mut tx = db::write(&db).await.unwrap();
        assert!(outbox::replay(&mut tx, dead_id).await.unwrap());
        tx.commit().await.unwrap();
        let (state, attempts): (String, i64) = sqlx::query_as(
            "SELECT j.state, j.attempts FROM jobs j JOIN outbox_messages m ON m.job_id = j.id WHERE m.id = $1",
        )
        .bind(dead_id)
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!((state.as_str(), attempts), ("pending", 0), "{backend:?}");
        db.close().await;
    }
}

/// A handler for the jobs test below: counts its runs; `ready` says whether its destination
/// is there.
struct Counting {
    kind: &'static str,
    ready: bool,
    runs: std::sync::atomic::AtomicUsize,
}

impl millrace::server::jobs::Handler for Counting {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn ready(&self) -> bool {
        self.ready
    }
    fn run<'a>(
        &'a self,
        _job: &'a millrace::server::jobs::Job,
    ) -> futures::future::BoxFuture<'a, millrace::server::jobs::Outcome> {
        self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { millrace::server::jobs::Outcome::Done })
    }
}

/// Jobs whose destination is missing (Odoo not connected, no SMTP) wait unclaimed, however
/// many, and do not hold up the jobs of other kinds queued after them; they run once their
/// destination is there.
#[tokio::test]
async fn jobs_waiting_for_a_missing_destination_do_not_hold_up_other_kinds() {
    use millrace::server::jobs::{self, Worker};
    use std::sync::Arc;
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let mut tx = db::write(&db).await.unwrap();
        for i in 0..(jobs::MAX_CLAIM + 20) {
            jobs::enqueue(&mut tx, "away", &format!("away:{i}"), "{}", None)
                .await
                .unwrap();
        }
        jobs::enqueue(&mut tx, "here", "here:1", "{}", None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let worker = |away_ready: bool| {
            let away = Arc::new(Counting {
                kind: "away",
                ready: away_ready,
                runs: Default::default(),
            });
            let here = Arc::new(Counting {
                kind: "here",
                ready: true,
                runs: Default::default(),
            });
            let w = Worker::new(
                db.clone(),
                "test".into(),
                Default::default(),
                Default::default(),
            )
            .with(away.clone())
            .with(here.clone());
            (w, away, here)
        };
        let (w, away, here) = worker(false);
        assert_eq!(w.run_once().await.unwrap(), 1, "{backend:?}");
        assert_eq!(here.runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(away.runs.load(std::sync::atomic::Ordering::SeqCst), 0);
        let (untouched,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'away' AND state = 'pending' AND attempts = 0 AND lease_owner IS NULL",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(untouched as usize, jobs::MAX_CLAIM + 20, "{backend:?}");

        // Once the destination is there, they go.
        let (w, away, _) = worker(true);
        let mut ran = 0;
        while ran < jobs::MAX_CLAIM + 20 {
            let n = w.run_once().await.unwrap();
            assert!(n > 0, "{backend:?}: stuck after {ran}");
            ran += n;
        }
        assert_eq!(
            away.runs.load(std::sync::atomic::Ordering::SeqCst),
            jobs::MAX_CLAIM + 20
        );
    }
}

/// Typed columns parse on the way in, on both databases: a quantity, a time and a state read
/// straight into their types, and a stored value that does not parse fails the read with
/// what it is and what was stored, never a zero or a default.
#[tokio::test]
async fn typed_columns_parse_on_the_way_in_and_refuse_what_does_not_parse() {
    use millrace::domain::order::OrderStatus;
    use millrace::server::db::typed::{Code, Quantity, UtcTime};
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        let (q, t, s): (Quantity, UtcTime, Code<OrderStatus>) =
            sqlx::query_as("SELECT '12.50', '2026-03-01 10:15:00', 'partially_shipped'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(q.get(), rust_decimal::Decimal::new(125, 1), "{backend:?}");
        assert_eq!(q.to_string(), "12.5");
        assert_eq!(t.to_string(), "2026-03-01 10:15:00");
        assert_eq!(s.0, OrderStatus::PartiallyShipped);
        for (sql, what) in [("SELECT 'n/a'", "quantity"), ("SELECT ''", "quantity")] {
            let e = sqlx::query_as::<_, (Quantity,)>(sql)
                .fetch_one(&db)
                .await
                .unwrap_err();
            assert!(e.to_string().contains(what), "{backend:?}: {e}");
        }
        let e = sqlx::query_as::<_, (UtcTime,)>("SELECT 'yesterday'")
            .fetch_one(&db)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("\"yesterday\""), "{backend:?}: {e}");
        let e = sqlx::query_as::<_, (Code<OrderStatus>,)>("SELECT 'lost'")
            .fetch_one(&db)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("order status"), "{backend:?}: {e}");
        // A user's role, as sessions and tokens read it.
        use millrace::server::auth::session::Role;
        let (role,): (Code<Role>,) = sqlx::query_as("SELECT 'supplier_admin'")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(role.0, Role::SupplierAdmin, "{backend:?}");
        let e = sqlx::query_as::<_, (Code<Role>,)>("SELECT 'emperor'")
            .fetch_one(&db)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("role"), "{backend:?}: {e}");
    }
}

/// A typed row refuses what its old tuple let through as nothing: an order released at a
/// time that does not parse used to drop out of the supplier's scores unseen
/// (`server::performance`); now the read fails and says what was stored.
#[tokio::test]
async fn a_release_time_that_does_not_parse_fails_the_performance_read() {
    use millrace::server::companies::CompanyScope;
    use millrace::server::performance;
    let (databases, _dir) = both().await;
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let (from, to) = (day("2026-03-01"), day("2026-03-31"));
    for (backend, db) in databases {
        for sql in [
            "INSERT INTO suppliers (id, name, odoo_partner_id, created_at) VALUES (1, 'S', 1, '')",
            "INSERT INTO purchase_orders (id, odoo_id, name, supplier_id, odoo_state, odoo_write_date, status, synced_at, date_order)
             VALUES (1, 1, 'P1', 1, 'purchase', '', 'new', '', '2026-03-10 09:00:00')",
        ] {
            sqlx::query(sql).execute(&db).await.unwrap();
        }
        let facts = performance::facts(&db, Some(1), &CompanyScope::All, from, to)
            .await
            .unwrap();
        assert_eq!(facts.len(), 1, "{backend:?}");
        assert_eq!(facts[0].2.len(), 1, "{backend:?}: the order is scored");
        sqlx::query("UPDATE purchase_orders SET date_approve = '2026-03-15 soon' WHERE id = 1")
            .execute(&db)
            .await
            .unwrap();
        let e = performance::facts(&db, Some(1), &CompanyScope::All, from, to)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("time"), "{backend:?}: {e}");
        assert!(
            e.to_string().contains("2026-03-15 soon"),
            "{backend:?}: {e}"
        );
    }
}

/// An order whose stored status is no status fails the inbox and the order page, instead
/// of showing as new (and answerable).
#[tokio::test]
async fn an_unknown_stored_order_status_fails_the_inbox_and_order_reads() {
    use millrace::model::orders::OrderFilter;
    use millrace::server::orders;
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        supplier_one(&db).await;
        sqlx::query(
            "INSERT INTO purchase_orders (id, odoo_id, name, supplier_id, odoo_state, odoo_write_date, status, synced_at, amount_total)
             VALUES (1, 1, 'P1', 1, 'purchase', '', 'new', '', '0')",
        )
        .execute(&db)
        .await
        .unwrap();
        let root = admin(&db).await;
        let filter = OrderFilter {
            page: 1,
            ..Default::default()
        };
        let inbox = orders::list(&db, &root, &filter).await.unwrap();
        assert_eq!(inbox.orders.len(), 1, "{backend:?}");
        let policy = Default::default();
        assert!(orders::detail(&db, &root, 1, policy).await.unwrap().is_some());
        sqlx::query("UPDATE purchase_orders SET status = 'emperor' WHERE id = 1")
            .execute(&db)
            .await
            .unwrap();
        let e = orders::list(&db, &root, &filter).await.unwrap_err();
        assert!(e.to_string().contains("emperor"), "{backend:?}: {e}");
        let e = orders::detail(&db, &root, 1, policy).await.unwrap_err();
        assert!(e.to_string().contains("emperor"), "{backend:?}: {e}");
    }
}

/// An unacknowledged order whose release time does not parse fails the exceptions read,
/// instead of silently leaving the late list; a bare date counts as its midnight.
#[tokio::test]
async fn a_release_time_that_does_not_parse_fails_the_late_acknowledgments() {
    use millrace::server::exceptions::{self, Scope, Windows};
    let (databases, _dir) = both().await;
    let windows = Windows {
        ack_hours: 24,
        planning_refresh_hours: 192,
    };
    for (backend, db) in databases {
        supplier_one(&db).await;
        sqlx::query(
            "INSERT INTO purchase_orders (id, odoo_id, name, supplier_id, odoo_state, odoo_write_date, status, synced_at, date_approve, amount_total)
             VALUES (1, 1, 'P1', 1, 'purchase', '', 'new', '', '2020-01-01', '0')",
        )
        .execute(&db)
        .await
        .unwrap();
        let view = exceptions::overview(&db, &Scope::default(), windows).await.unwrap();
        assert_eq!(view.late_acknowledgments.len(), 1, "{backend:?}");
        assert_eq!(
            view.late_acknowledgments[0].released_at,
            "2020-01-01 00:00:00",
            "{backend:?}"
        );
        sqlx::query("UPDATE purchase_orders SET date_approve = 'last week' WHERE id = 1")
            .execute(&db)
            .await
            .unwrap();
        let e = exceptions::overview(&db, &Scope::default(), windows)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("last week"), "{backend:?}: {e}");
    }
}

/// The portal's flags are booleans where both databases allow it: `BOOLEAN` on PostgreSQL,
/// `INTEGER` 0/1 on SQLite (migration 90). SQL written once (`WHERE visible`, `SET paused =
/// TRUE`, a bound `bool`) works on both, a flag reads back through `Flag` on both, and on
/// SQLite a stored value other than 0 or 1 fails the read instead of counting as true.
#[tokio::test]
async fn flags_are_booleans_on_postgres_and_0_or_1_on_sqlite() {
    use millrace::server::db::typed::Flag;
    const FLAGS: [(&str, &str); 9] = [
        ("users", "active"),
        ("users", "notify_orders"),
        ("users", "notify_digest"),
        ("suppliers", "notify_orders"),
        ("purchase_orders", "visible"),
        ("purchase_order_lines", "removed_in_odoo"),
        ("receipts", "lots_synced"),
        ("events", "staff_only"),
        ("planning_pulls", "paused"),
    ];
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        if backend == Backend::Postgres {
            for (table, column) in FLAGS {
                let (ty,): (String,) = sqlx::query_as(
                    "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
                )
                .bind(table)
                .bind(column)
                .fetch_one(&db)
                .await
                .unwrap();
                assert_eq!(ty, "boolean", "{table}.{column}");
            }
        }
        sqlx::query("INSERT INTO suppliers (name, odoo_partner_id, created_at) VALUES ('Flags', 77, '2026-01-01 00:00:00')")
            .execute(&db)
            .await
            .unwrap();
        let (on,): (Flag,) =
            sqlx::query_as("SELECT notify_orders FROM suppliers WHERE odoo_partner_id = 77")
                .fetch_one(&db)
                .await
                .unwrap();
        assert!(on.0, "{backend:?}: the default is on");
        sqlx::query("UPDATE suppliers SET notify_orders = $1 WHERE odoo_partner_id = 77")
            .bind(false)
            .execute(&db)
            .await
            .unwrap();
        let read: Vec<(Flag, i64)> = sqlx::query_as(
            "SELECT notify_orders, CASE WHEN notify_orders THEN 1 ELSE 0 END FROM suppliers WHERE odoo_partner_id = 77 AND NOT notify_orders",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert_eq!(read, vec![(Flag(false), 0)], "{backend:?}");
        if backend == Backend::Sqlite {
            sqlx::query("UPDATE suppliers SET notify_orders = 2 WHERE odoo_partner_id = 77")
                .execute(&db)
                .await
                .unwrap();
            let e = sqlx::query_as::<_, (Flag,)>(
                "SELECT notify_orders FROM suppliers WHERE odoo_partner_id = 77",
            )
            .fetch_one(&db)
            .await
            .unwrap_err();
            assert!(e.to_string().contains("flag"), "{e}");
            assert!(e.to_string().contains('2'), "{e}");
        }
    }
}

/// A PostgreSQL database in use before migration 0090 (flags as integers 0/1), with orders
/// and users in it, upgrades: every flag keeps its meaning as a boolean, the per-status
/// counts stay right, and the triggers 0090 rewrote go on counting.
#[tokio::test]
async fn a_populated_postgres_database_upgrades_across_the_boolean_migration() {
    use sqlx::migrate::Migrator;
    let url = db::throwaway::fresh_database()
        .await
        .expect("a throwaway PostgreSQL database");
    let all = Backend::Postgres.migrator();
    let before = Migrator {
        migrations: all
            .iter()
            .filter(|m| m.version < 90)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..Migrator::DEFAULT
    };
    sqlx::any::install_default_drivers();
    let old = sqlx::AnyPool::connect(&url).await.unwrap();
    before.run(&old).await.unwrap();
    for sql in [
        "INSERT INTO suppliers (id, name, odoo_partner_id, created_at, notify_orders) VALUES (1, 'S', 1, '', 0)",
        "INSERT INTO users (email, display_name, password_hash, role, supplier_id, created_at, active, notify_digest)
         VALUES ('on@example.com', 'On', 'x', 'supplier_admin', 1, '', 1, 1), ('off@example.com', 'Off', 'x', 'supplier_user', 1, '', 0, 0)",
        "INSERT INTO purchase_orders (id, odoo_id, name, supplier_id, odoo_state, odoo_write_date, status, synced_at, visible)
         VALUES (1, 1, 'P1', 1, 'purchase', '', 'new', '', 1), (2, 2, 'P2', 1, 'purchase', '', 'new', '', 1),
                (3, 3, 'P3', 1, 'purchase', '', 'new', '', 0)",
    ] {
        sqlx::query(sql).execute(&old).await.unwrap();
    }
    old.close().await;

    let db = db::open(&url)
        .await
        .expect("the remaining migrations apply");
    let users: Vec<(String, bool, bool)> =
        sqlx::query_as("SELECT email, active, notify_digest FROM users ORDER BY email")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        users,
        vec![
            ("off@example.com".to_string(), false, false),
            ("on@example.com".to_string(), true, true)
        ]
    );
    let (notify,): (bool,) = sqlx::query_as("SELECT notify_orders FROM suppliers WHERE id = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(!notify);
    let visible: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM purchase_orders WHERE visible = TRUE ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(visible, vec![(1,), (2,)]);
    let new_orders = || async {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT orders FROM order_status_counts WHERE supplier_id = 1 AND status = 'new'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        n
    };
    assert_eq!(new_orders().await, 2, "the counts of before the upgrade");
    // The rewritten triggers count booleans: hiding one order and showing another.
    sqlx::query("UPDATE purchase_orders SET visible = FALSE WHERE id = 1")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(new_orders().await, 1);
    sqlx::query("UPDATE purchase_orders SET visible = TRUE WHERE id IN (1, 3)")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(new_orders().await, 3);
}

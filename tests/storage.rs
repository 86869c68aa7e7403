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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_takes_the_feed_lock_so_count_rows_are_updated_one_writer_at_a_time() {
    let (databases, _dir) = both().await;
    for (backend, db) in databases {
        sqlx::query(
            "INSERT INTO suppliers (id, name, odoo_partner_id, created_at) VALUES (1, 'S', 1, '')",
        )
        .execute(&db)
        .await
        .unwrap();
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
        let id = millrace::server::auth::users::create_user(
            &db,
            "Ana@Example.COM",
            "Ana",
            "a-long-password-1",
            Role::Buyer,
            None,
        )
        .await
        .unwrap();
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
    }
}

//! Sessions live in the portal database, whichever it is: tower-sessions' SQLite or
//! PostgreSQL store behind one type, so the session layer does not care.
//!
//! On SQLite, one process owns the database (several instances need PostgreSQL), so the
//! sessions it read or wrote lately are also kept in memory for [`RECENT_FOR`] and read
//! from there: a signed-in user's pages skip one read of the sessions table (a hand-off to
//! SQLite's connection thread and back, and another when the connection goes back to the
//! pool).
//! Every write goes to the table first, then to memory. On PostgreSQL every page reads
//! the table: another instance may have written the session since (a sign-out, the
//! message a form's action left for the page it redirects to).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::{session_store, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::Backend;

/// The sessions table (same name in both databases).
pub const TABLE: &str = "tower_sessions";

/// How long a session read or written is served from memory (SQLite only). Whatever this
/// process writes replaces it at once; the bound is for what it cannot see.
pub const RECENT_FOR: Duration = Duration::from_secs(2);

/// Sessions kept in memory before stale ones are swept (and all of them, if none is).
const RECENT_SWEEP_AT: usize = 4096;

#[derive(Clone, Debug)]
pub struct Sessions {
    store: Store,
    /// Set on SQLite: the sessions this process read or wrote lately.
    recent: Option<Arc<Recent>>,
}

#[derive(Clone, Debug)]
enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Records by id, with when each was stored here, and a count of the writes: a record
/// read from the table is kept only if no write happened while it was read (it may be
/// what was true just before that write).
#[derive(Debug, Default)]
struct Recent {
    records: Mutex<(HashMap<Id, (Record, Instant)>, u64)>,
}

impl Recent {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<Id, (Record, Instant)>, u64)> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The record if it was stored here less than [`RECENT_FOR`] ago and has not expired.
    fn get(&self, id: &Id) -> Option<Record> {
        let mut guard = self.lock();
        match guard.0.get(id) {
            Some((record, at))
                if at.elapsed() < RECENT_FOR && record.expiry_date > OffsetDateTime::now_utc() =>
            {
                Some(record.clone())
            }
            Some(_) => {
                guard.0.remove(id);
                None
            }
            None => None,
        }
    }

    /// The count of writes so far, to pass to [`Recent::read`].
    fn writes(&self) -> u64 {
        self.lock().1
    }

    /// Keeps a record read from the table, unless a write happened since `writes`.
    fn read(&self, record: &Record, writes: u64) {
        let mut guard = self.lock();
        if guard.1 == writes {
            Self::keep(&mut guard.0, record);
        }
    }

    /// After the table took `record`.
    fn written(&self, record: &Record) {
        let mut guard = self.lock();
        guard.1 += 1;
        Self::keep(&mut guard.0, record);
    }

    /// After the table lost the session `id`.
    fn forget(&self, id: &Id) {
        let mut guard = self.lock();
        guard.1 += 1;
        guard.0.remove(id);
    }

    fn keep(records: &mut HashMap<Id, (Record, Instant)>, record: &Record) {
        if records.len() >= RECENT_SWEEP_AT {
            records.retain(|_, (_, at)| at.elapsed() < RECENT_FOR);
            if records.len() >= RECENT_SWEEP_AT {
                records.clear();
            }
        }
        records.insert(record.id, (record.clone(), Instant::now()));
    }
}

impl Sessions {
    /// Opens the store on its own small pool (the stores need the concrete driver) and
    /// creates its table.
    pub async fn open(url: &str) -> Result<Sessions, sqlx::Error> {
        let store = match Backend::of(url)? {
            Backend::Sqlite => {
                // No ping before each use (see `db::open`): one session read per page.
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .test_before_acquire(false)
                    .connect_with(
                        url.parse::<sqlx::sqlite::SqliteConnectOptions>()?
                            .busy_timeout(std::time::Duration::from_secs(10)),
                    )
                    .await?;
                let store = SqliteStore::new(pool)
                    .with_table_name(TABLE)
                    .expect("valid table name");
                store.migrate().await?;
                Sessions {
                    store: Store::Sqlite(store),
                    recent: Some(Arc::default()),
                }
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect(url)
                    .await?;
                let store = PostgresStore::new(pool)
                    .with_schema_name("public")
                    .and_then(|s| s.with_table_name(TABLE))
                    .expect("valid names");
                store.migrate().await?;
                Sessions {
                    store: Store::Postgres(store),
                    recent: None,
                }
            }
        };
        Ok(store)
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.create(record).await,
            Store::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.save(record).await,
            Store::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite(s) => s.load(id).await,
            Store::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s) => s.delete(id).await,
            Store::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await?;
        if let Some(recent) = &self.recent {
            recent.written(record);
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Forgotten first: a failed save must not leave the earlier record served.
        if let Some(recent) = &self.recent {
            recent.forget(&record.id);
        }
        self.store.save(record).await?;
        if let Some(recent) = &self.recent {
            recent.written(record);
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(recent) = &self.recent else {
            return self.store.load(id).await;
        };
        if let Some(record) = recent.get(id) {
            return Ok(Some(record));
        }
        let writes = recent.writes();
        let loaded = self.store.load(id).await?;
        if let Some(record) = &loaded {
            recent.read(record, writes);
        }
        Ok(loaded)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        if let Some(recent) = &self.recent {
            recent.forget(id);
        }
        let deleted = self.store.delete(id).await;
        // Again after: a load meanwhile may have read the row before it went.
        if let Some(recent) = &self.recent {
            recent.forget(id);
        }
        deleted
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.store {
            Store::Sqlite(s) => s.delete_expired().await,
            Store::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Deletes expired sessions every `period` until `shutdown` (every instance may run it:
/// the delete is idempotent).
pub async fn delete_expired_continuously(
    store: Sessions,
    period: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: i64, expires_in: tower_sessions::cookie::time::Duration) -> Record {
        Record {
            id: Id::default(),
            data: [("n".to_string(), json!(value))].into_iter().collect(),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    fn hours(n: i64) -> tower_sessions::cookie::time::Duration {
        tower_sessions::cookie::time::Duration::hours(n)
    }

    async fn sqlite() -> (tempfile::TempDir, String, Sessions) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let sessions = Sessions::open(&url).await.unwrap();
        (dir, url, sessions)
    }

    /// Deletes the session's row behind the store's back, as another process would.
    async fn delete_row(url: &str, id: &Id) {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        let deleted = sqlx::query(&format!("DELETE FROM {TABLE} WHERE id = ?"))
            .bind(id.to_string())
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(deleted.rows_affected(), 1);
    }

    #[tokio::test]
    async fn on_sqlite_a_session_written_here_is_read_from_memory() {
        let (_dir, url, sessions) = sqlite().await;
        let mut r = record(1, hours(1));
        sessions.create(&mut r).await.unwrap();
        delete_row(&url, &r.id).await;
        assert_eq!(sessions.load(&r.id).await.unwrap(), Some(r));
    }

    #[tokio::test]
    async fn a_saved_change_replaces_the_record_in_memory_and_the_table() {
        let (_dir, url, sessions) = sqlite().await;
        let mut r = record(1, hours(1));
        sessions.create(&mut r).await.unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap().unwrap().data["n"], 1);
        r.data.insert("n".into(), json!(2));
        sessions.save(&r).await.unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap().unwrap().data["n"], 2);
        // The table has it too: a fresh store (a restarted process) reads 2.
        let fresh = Sessions::open(&url).await.unwrap();
        assert_eq!(fresh.load(&r.id).await.unwrap().unwrap().data["n"], 2);
    }

    #[tokio::test]
    async fn a_deleted_session_is_not_served_from_memory() {
        let (_dir, _url, sessions) = sqlite().await;
        let mut r = record(1, hours(1));
        sessions.create(&mut r).await.unwrap();
        assert!(sessions.load(&r.id).await.unwrap().is_some());
        sessions.delete(&r.id).await.unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap(), None);
    }

    #[test]
    fn an_expired_session_is_not_served_from_memory() {
        let recent = Recent::default();
        let gone = record(1, hours(-1));
        let live = record(2, hours(1));
        recent.written(&gone);
        recent.written(&live);
        assert_eq!(recent.get(&gone.id), None);
        assert_eq!(recent.get(&live.id), Some(live));
    }

    #[test]
    fn a_record_read_while_a_write_happened_is_not_kept() {
        let recent = Recent::default();
        let old = record(1, hours(1));
        let mut new = old.clone();
        new.data.insert("n".into(), json!(2));
        // A load read the old row; a save wrote the new one before the load kept it.
        let writes = recent.writes();
        recent.written(&new);
        recent.read(&old, writes);
        assert_eq!(recent.get(&old.id), Some(new));
        // A sign-out meanwhile: the read row is not kept either.
        let writes = recent.writes();
        recent.forget(&old.id);
        recent.read(&old, writes);
        assert_eq!(recent.get(&old.id), None);
    }
}

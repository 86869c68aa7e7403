//! Sessions live in the portal database, whichever it is: tower-sessions' SQLite or
//! PostgreSQL store behind one type, so the session layer does not care.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::{session_store, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::Backend;

/// The sessions table (same name in both databases).
pub const TABLE: &str = "tower_sessions";

#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
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
                Sessions::Sqlite(store)
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
                Sessions::Postgres(store)
            }
        };
        Ok(store)
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.create(record).await,
            Sessions::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.save(record).await,
            Sessions::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(s) => s.load(id).await,
            Sessions::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete(id).await,
            Sessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete_expired().await,
            Sessions::Postgres(s) => s.delete_expired().await,
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

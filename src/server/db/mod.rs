//! The portal database: opening it, migrating it, and the clock format it stores.
//! SQLite is the embedded default (WAL, synchronous FULL so a reported write survives a crash).

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub type Db = SqlitePool;

pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// A transaction that will write. `BEGIN IMMEDIATE` takes SQLite's write lock up front,
/// so concurrent writers wait (busy timeout) instead of failing when a read-then-write
/// transaction finds another writer got there first (SQLITE_BUSY_SNAPSHOT in WAL mode).
pub async fn write(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// Now in UTC as stored: `YYYY-MM-DD HH:MM:SS`.
pub fn now() -> String {
    chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub fn at(offset: chrono::Duration) -> String {
    (chrono::Utc::now().naive_utc() + offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

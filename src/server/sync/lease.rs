//! Leases in the database, so that work one instance must do alone (the Odoo poller) is
//! done by one instance at a time, and taken over when that instance dies.

use std::time::Duration;

use crate::server::db::{self, Db};

/// Takes or renews the lease `name` for `holder` until `ttl` from now. True when `holder`
/// has it: it was free, had run out, or was already `holder`'s.
pub async fn hold(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool, sqlx::Error> {
    let until = db::at(chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(30)));
    let r = sqlx::query(
        "INSERT INTO sync_leases (name, holder, lease_until) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
         WHERE sync_leases.holder = excluded.holder OR sync_leases.lease_until < $4",
    )
    .bind(name)
    .bind(holder)
    .bind(&until)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives the lease up (at shutdown), so another instance need not wait for it to run out.
pub async fn release(db: &Db, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_leases SET lease_until = '' WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(db)
        .await?;
    Ok(())
}

/// Asks whoever holds `name` to run now (a webhook reached an instance that does not).
pub async fn request_run(db: &Db, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_leases SET poll_requested_at = $1 WHERE name = $2")
        .bind(db::now())
        .bind(name)
        .execute(db)
        .await?;
    Ok(())
}

/// For the holder: was a run requested since it last looked? Clears the request.
pub async fn take_request(db: &Db, name: &str, holder: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE sync_leases SET poll_requested_at = NULL
         WHERE name = $1 AND holder = $2 AND poll_requested_at IS NOT NULL",
    )
    .bind(name)
    .bind(holder)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

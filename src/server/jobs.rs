//! Durable jobs: the one mechanism for work that must happen after a transaction commits,
//! at least once, in order per key (issue 12). A job is a row in `jobs` written in the
//! transaction that made it necessary (nothing to do is ever lost with a crash); a worker
//! on each instance claims due jobs with a fenced lease, hands each to the [`Handler`] of its
//! kind, and records the outcome only while it still holds the lease: done, retried with
//! capped exponential backoff and jitter, or dead (kept, shown, replayable). Jobs sharing an
//! `ordering_key` run one at a time in id order, and a dead one holds the later ones of its
//! key until it is replayed or discarded, so a receiver never sees them out of order.
//!
//! Kinds: `odoo.outbox` (`sync::outbox`: one supplier action into Odoo, keyed by its purchase
//! order), `webhook` (`server::webhooks`: one event to one subscriber), `odoo.planning_push`
//! (`server::planning::push`: one demand signal into Odoo, pushed with those of the same claim),
//! `mail` (`server::notify`: one mail over SMTP, a key per mail). A handler whose destination is
//! not there (no Odoo connection, no SMTP) is not [`Handler::ready`]: its jobs wait, unclaimed,
//! and do not hold up the other kinds'.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use tokio::sync::Notify;

use crate::server::clock::Clock;
use crate::server::db::{self, Db, Tx};

/// How long to wait between attempts: `base` doubling per failed attempt, capped, ±25 % jitter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts before a job with transient failures is dead-lettered.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The wait after `failed` failed attempts (1 for the first failure).
    pub fn delay(&self, failed: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << failed.saturating_sub(1).min(20))
            .min(self.cap);
        exp.mul_f64(rand::thread_rng().gen_range(0.75..1.25))
    }
}

/// A job as its handler receives it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub ordering_key: String,
    pub payload: String,
    /// Attempts before this one.
    pub attempts: i64,
    pub correlation_id: Option<String>,
    /// This claim's fencing token: outcomes are recorded only under it.
    #[sqlx(skip)]
    pub lease: String,
}

/// What one run of a job came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Done,
    /// A transient failure: try again later (`after`, when the destination said when).
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// Will never work as it is: kept as a dead letter.
    Dead {
        why: String,
    },
    /// Not attempted (e.g. its subscriber is paused): look again after the wait, without
    /// counting an attempt.
    NotNow(Duration),
}

/// Runs the jobs of one kind.
pub trait Handler: Send + Sync {
    fn kind(&self) -> &'static str;
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome>;
    /// How many of its jobs one claim hands it at most. A handler that gathers a claim's
    /// jobs into one call to its destination takes more (up to [`MAX_CLAIM`]).
    fn claim_size(&self) -> usize {
        100
    }
    /// Its own retry policy, where it has one (the worker's otherwise).
    fn retry(&self) -> Option<RetryPolicy> {
        None
    }
    /// Whether its jobs can run now (its destination is configured); until then they wait
    /// unclaimed, costing nothing and counting no attempt.
    fn ready(&self) -> bool {
        true
    }
}

/// Inside a handler's own transaction: whether this run still holds its job's lease (and
/// locks the job's row until that transaction ends, so no one claims it meanwhile). A
/// handler that records what its run did in its own tables checks this first, as outcomes
/// are recorded only under the lease.
pub async fn still_held(tx: &mut Tx<'_>, job: &Job) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE jobs SET lease_owner = lease_owner WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
    )
    .bind(job.id)
    .bind(&job.lease)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The most jobs one claim takes, of all kinds together.
pub const MAX_CLAIM: usize = 500;

/// Queues a job in the caller's transaction: it exists exactly when the transaction commits.
pub async fn enqueue(
    tx: &mut Tx<'_>,
    kind: &str,
    ordering_key: &str,
    payload: &str,
    correlation_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let now = db::now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO jobs (kind, ordering_key, payload, next_attempt_at, correlation_id, created_at) VALUES ($1, $2, $3, $4, $5, $4) RETURNING id",
    )
    .bind(kind)
    .bind(ordering_key)
    .bind(payload)
    .bind(&now)
    .bind(correlation_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Claims and runs due jobs.
pub struct Worker {
    pub db: Db,
    pub handlers: HashMap<&'static str, Arc<dyn Handler>>,
    pub retry: RetryPolicy,
    /// How long a claimed job stays claimed; a run is cut off at half of it.
    pub lease: Duration,
    pub instance: String,
    pub clock: Clock,
    pub wake: Arc<Notify>,
    /// Where the worker's heartbeat goes (`/readyz`), if anywhere.
    pub health: Option<Arc<crate::server::telemetry::Health>>,
}

impl Worker {
    pub fn new(db: Db, instance: String, clock: Clock, wake: Arc<Notify>) -> Self {
        Self {
            db,
            handlers: HashMap::new(),
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            instance,
            clock,
            wake,
            health: None,
        }
    }

    pub fn with(mut self, handler: Arc<dyn Handler>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    /// Runs what is due: the first unfinished job of each ordering key, if due and not
    /// leased by someone else; different keys run concurrently. Returns how many ran.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.stored_now();
        // Only the kinds this worker can run now: the jobs of the others (no handler here,
        // or its destination missing) are left where they are and take no room in the claim.
        let mut args = vec![db::Arg::Text(now.clone()), db::Arg::Int(MAX_CLAIM as i64)];
        let kinds: Vec<String> = self
            .handlers
            .values()
            .filter(|h| h.ready())
            .map(|h| db::arg(&mut args, db::Arg::Text(h.kind().to_string())))
            .collect();
        if kinds.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT j.id, j.kind, j.ordering_key, j.payload, j.attempts, j.correlation_id FROM jobs j
             WHERE j.state = 'pending' AND j.next_attempt_at <= $1 AND (j.lease_until IS NULL OR j.lease_until < $1)
               AND j.kind IN ({})
               AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.ordering_key = j.ordering_key AND p.id < j.id
                               AND p.state IN ('pending', 'dead'))
             ORDER BY j.id LIMIT $2",
            kinds.join(", ")
        );
        let due: Vec<Job> = db::bind_args(sqlx::query_as(&sql), &args)
            .fetch_all(&self.db)
            .await?;
        let lease_until = self.clock.stored_at(
            chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60)),
        );
        let mut taken: HashMap<&'static str, usize> = HashMap::new();
        let due: Vec<(Job, Arc<dyn Handler>)> = due
            .into_iter()
            // An instance without a kind's handler leaves its jobs to one that has it.
            .filter_map(|j| self.handlers.get(j.kind.as_str()).cloned().map(|h| (j, h)))
            .filter(|(_, h)| {
                let n = taken.entry(h.kind()).or_default();
                *n += 1;
                *n <= h.claim_size().min(MAX_CLAIM)
            })
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        // One claim for the batch: one statement, one fencing token.
        let lease = format!("{}/{}", self.instance, uuid::Uuid::new_v4().simple());
        let mut args = vec![
            db::Arg::Text(lease_until),
            db::Arg::Text(lease.clone()),
            db::Arg::Text(now),
        ];
        let ids: Vec<String> = due
            .iter()
            .map(|(j, _)| db::arg(&mut args, db::Arg::Int(j.id)))
            .collect();
        let sql = format!(
            "UPDATE jobs SET lease_until = $1, lease_owner = $2 WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < $3) AND id IN ({}) RETURNING id",
            ids.join(", ")
        );
        let claimed: Vec<(i64,)> = db::bind_args(sqlx::query_as(&sql), &args)
            .fetch_all(&self.db)
            .await?;
        let claimed: std::collections::HashSet<i64> = claimed.into_iter().map(|c| c.0).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (mut job, handler) in due.into_iter().filter(|(j, _)| claimed.contains(&j.id)) {
            job.lease = lease.clone();
            let budget = self.lease / 2;
            let retry = handler.retry().unwrap_or(self.retry);
            tasks.spawn(async move {
                let outcome = tokio::time::timeout(budget, handler.run(&job))
                    .await
                    .unwrap_or_else(|_| Outcome::Retry {
                        why: format!("no answer within {} s", budget.as_secs()),
                        after: None,
                    });
                (job, outcome, retry)
            });
        }
        // The batch's outcomes in one transaction (each run is cut off at half the lease,
        // so they are all recorded within it).
        let mut outcomes = Vec::with_capacity(claimed.len());
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    tracing::error!(error = %e, "a job's run panicked; it is retried when its lease ends")
                }
            }
        }
        let ran = outcomes.len();
        settle(&self.db, &self.clock, &outcomes).await?;
        Ok(ran)
    }
}

/// Records runs' outcomes, each only while its run still holds the job's lease.
async fn settle(
    db: &Db,
    clock: &Clock,
    outcomes: &[(Job, Outcome, RetryPolicy)],
) -> Result<(), sqlx::Error> {
    if outcomes.is_empty() {
        return Ok(());
    }
    // Each update is fenced by its own lease and touches its own row: no other writer
    // needs to be kept out (`db::write_keyed` with no key waits only for `db::write`).
    let mut tx = db::write_keyed(db, &[]).await?;
    for (job, outcome, retry) in outcomes {
        let retry = *retry;
        let attempts = job.attempts + 1;
        let (state, attempts, next, error) = match outcome {
            Outcome::Done => ("done", attempts, db::now(), None),
            Outcome::Dead { why } => ("dead", attempts, db::now(), Some(why.clone())),
            Outcome::Retry { why, .. } if attempts as u32 >= retry.max_attempts => (
                "dead",
                attempts,
                db::now(),
                Some(format!("gave up after {attempts} attempts: {why}")),
            ),
            Outcome::Retry { why, after } => {
                let wait = after.unwrap_or_else(|| retry.delay(attempts as u32));
                ("pending", attempts, later(clock, wait), Some(why.clone()))
            }
            Outcome::NotNow(wait) => ("pending", job.attempts, later(clock, *wait), None),
        };
        let done_at = (state != "pending").then(db::now);
        sqlx::query(
            "UPDATE jobs SET state = $1, attempts = $2, next_attempt_at = $3, last_error = COALESCE($4, last_error), done_at = $5, lease_until = NULL
             WHERE id = $6 AND lease_owner = $7 AND state = 'pending'",
        )
        .bind(state)
        .bind(attempts)
        .bind(next)
        .bind(error)
        .bind(done_at)
        .bind(job.id)
        .bind(&job.lease)
        .execute(&mut *tx)
        .await?;
        metrics::counter!(crate::server::telemetry::JOBS_RUN, "kind" => job.kind.clone(), "outcome" => state).increment(1);
    }
    tx.commit().await
}

fn later(clock: &Clock, wait: Duration) -> String {
    clock.stored_at(chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1)))
}

/// Runs until `shutdown`: what is due, then sleeps until woken or a quarter of a second
/// (jobs are queued in other transactions, whose commit nothing announces).
pub async fn run(worker: Worker, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Some(health) = &worker.health {
            health.worker_heartbeat.store(
                crate::server::telemetry::unix_now(),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        match worker.run_once().await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "job worker could not read its jobs"),
        }
        tokio::select! {
            _ = worker.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Puts a dead job back in line (its key's later jobs follow it).
pub async fn replay(tx: &mut Tx<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, done_at = NULL WHERE id = $2 AND state = 'dead'",
    )
    .bind(db::now())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives up on a dead job for good (its key's later jobs go on).
pub async fn discard(tx: &mut Tx<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE jobs SET state = 'discarded', lease_until = NULL WHERE id = $1 AND state = 'dead'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let policy = RetryPolicy::default();
        for failed in 1..30u32 {
            let d = policy.delay(failed).as_secs_f64();
            let base = (2u64 << (failed - 1).min(20)).min(600) as f64;
            assert!(
                d >= base * 0.75 && d <= base * 1.25,
                "after {failed} failures: {d}"
            );
        }
        assert!(policy.delay(40).as_secs_f64() <= 750.0);
        assert!(policy.delay(1).as_secs_f64() >= 1.5);
    }
}

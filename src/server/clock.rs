//! What time it is for the application: the system's UTC clock, which tests move forward
//! (`advance`) instead of rewriting the times stored in the database. One `Clock` lives in
//! `AppState`; what compares stored times with now takes it from there.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};

use crate::server::db::TIME_FORMAT;

/// The system clock plus an offset that only tests set. Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in UTC.
    pub fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().naive_utc()
            + Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Now as stored: `YYYY-MM-DD HH:MM:SS`.
    pub fn stored_now(&self) -> String {
        self.now().format(TIME_FORMAT).to_string()
    }

    /// `offset` from now, as stored.
    pub fn stored_at(&self, offset: Duration) -> String {
        (self.now() + offset).format(TIME_FORMAT).to_string()
    }

    /// Moves this clock (and its clones) forward: for tests.
    pub fn advance(&self, by: Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_and_its_clones_are_ahead_by_as_much() {
        let clock = Clock::default();
        let clone = clock.clone();
        let before = chrono::Utc::now().naive_utc();
        clock.advance(Duration::hours(2));
        let ahead = clone.now() - before;
        assert!(ahead >= Duration::hours(2) && ahead < Duration::hours(2) + Duration::minutes(1));
    }
}

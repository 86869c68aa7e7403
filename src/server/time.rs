//! Showing times in the user's own time zone. Everything is stored and exchanged with Odoo
//! as naive UTC `YYYY-MM-DD HH:MM:SS`; conversion happens only here, on the way to a page.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// The user's time zone, falling back to UTC for a name the IANA database does not know.
#[derive(Clone, Copy, Debug)]
pub struct UserClock(Tz);

impl UserClock {
    pub fn for_zone(name: &str) -> Self {
        Self(name.parse().unwrap_or(Tz::UTC))
    }

    /// `2026-12-06 08:00:00` (UTC) → `2026-12-06 09:00 CET` in Europe/Brussels.
    pub fn datetime(&self, utc: &str) -> String {
        match NaiveDateTime::parse_from_str(utc.get(..19).unwrap_or(utc), "%Y-%m-%d %H:%M:%S") {
            Ok(t) => self.at(t),
            Err(_) => utc.to_string(),
        }
    }

    pub fn opt(&self, utc: Option<String>) -> Option<String> {
        utc.map(|u| self.datetime(&u))
    }

    /// A UTC time in the user's zone: `2026-12-06 09:00 CET`.
    pub fn at(&self, utc: NaiveDateTime) -> String {
        self.0
            .from_utc_datetime(&utc)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    pub fn opt_at(&self, utc: Option<NaiveDateTime>) -> Option<String> {
        utc.map(|t| self.at(t))
    }

    /// The user's calendar day of a UTC time: `2026-12-06`.
    pub fn day(&self, utc: NaiveDateTime) -> String {
        self.0
            .from_utc_datetime(&utc)
            .format("%Y-%m-%d")
            .to_string()
    }
}

/// Whether `name` is an IANA time zone name.
pub fn is_known_zone(name: &str) -> bool {
    name.parse::<Tz>().is_ok()
}

/// Every IANA zone name, for the account page's list.
pub fn zone_names() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_the_zone_with_its_abbreviation_and_daylight_saving() {
        let check = |zone: &str, utc: &str, expected: &str| {
            assert_eq!(UserClock::for_zone(zone).datetime(utc), expected)
        };
        check(
            "Europe/Brussels",
            "2026-12-06 08:00:00",
            "2026-12-06 09:00 CET",
        );
        check(
            "Europe/Brussels",
            "2026-07-06 08:00:00",
            "2026-07-06 10:00 CEST",
        );
        check(
            "America/Los_Angeles",
            "2026-12-06 06:00:00",
            "2026-12-05 22:00 PST",
        );
        check("UTC", "2026-12-06 08:00:00.123", "2026-12-06 08:00 UTC");
        check("Not/AZone", "2026-12-06 08:00:00", "2026-12-06 08:00 UTC");
        check("UTC", "garbage", "garbage");
        assert!(is_known_zone("Asia/Kolkata"));
        assert!(!is_known_zone("Mars/Olympus"));
    }
}

//! When a delivery is at risk: a shipment notice expects it after the requested date, or
//! the requested date has passed with quantity still open and nothing announced.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryRisk {
    /// Announced to arrive `days_late` days after the requested date.
    ArrivesLate { days_late: i64 },
    /// Past due by `days_overdue` days with quantity open and no shipment notice covering it.
    OverdueWithoutNotice { days_overdue: i64 },
}

impl DeliveryRisk {
    pub fn describe(&self) -> String {
        match self {
            DeliveryRisk::ArrivesLate { days_late } => {
                format!("arrives {days_late} day(s) after the requested date")
            }
            DeliveryRisk::OverdueWithoutNotice { days_overdue } => {
                format!("{days_overdue} day(s) overdue, nothing announced")
            }
        }
    }
}

/// `open` is what is still to receive, `announced` what shipment notices cover of it, and
/// `latest_arrival` the latest expected arrival among those notices.
pub fn delivery_risk(
    requested: NaiveDate,
    today: NaiveDate,
    open: Decimal,
    announced: Decimal,
    latest_arrival: Option<NaiveDate>,
) -> Option<DeliveryRisk> {
    if open <= Decimal::ZERO {
        return None;
    }
    if let Some(arrival) = latest_arrival {
        if arrival > requested {
            return Some(DeliveryRisk::ArrivesLate {
                days_late: (arrival - requested).num_days(),
            });
        }
    }
    if today > requested && announced < open {
        return Some(DeliveryRisk::OverdueWithoutNotice {
            days_overdue: (today - requested).num_days(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }
    fn q(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    #[test]
    fn risks_at_their_boundaries() {
        let today = d("2026-12-10");
        let check = |requested: &str,
                     open: &str,
                     announced: &str,
                     arrival: Option<&str>,
                     expected: Option<DeliveryRisk>| {
            assert_eq!(
                delivery_risk(d(requested), today, q(open), q(announced), arrival.map(d)),
                expected,
                "{requested} {open} {announced} {arrival:?}"
            );
        };
        check("2026-12-10", "5", "0", None, None); // due today: not overdue yet
        check(
            "2026-12-09",
            "5",
            "0",
            None,
            Some(DeliveryRisk::OverdueWithoutNotice { days_overdue: 1 }),
        );
        check("2026-12-09", "5", "5", Some("2026-12-09"), None); // announced in full, on time
        check(
            "2026-12-09",
            "5",
            "2",
            Some("2026-12-09"),
            Some(DeliveryRisk::OverdueWithoutNotice { days_overdue: 1 }),
        );
        check("2026-12-12", "5", "5", Some("2026-12-12"), None);
        check(
            "2026-12-12",
            "5",
            "5",
            Some("2026-12-13"),
            Some(DeliveryRisk::ArrivesLate { days_late: 1 }),
        );
        check("2026-12-01", "0", "0", None, None); // received in full
    }
}

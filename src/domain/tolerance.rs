//! Line answers and the tolerance policy that decides which proposals are accepted at once
//! and which wait for a buyer.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How far a proposal may move from the order before a buyer must decide.
/// A global default, overridable per supplier.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TolerancePolicy {
    /// Proposed date within ± this many days of the requested date.
    pub date_days: i64,
    /// Proposed quantity within ± this percentage of the ordered quantity.
    pub quantity_percent: Decimal,
}

impl Default for TolerancePolicy {
    fn default() -> Self {
        Self {
            date_days: 2,
            quantity_percent: Decimal::new(5, 0),
        }
    }
}

/// The time of day a proposed date gets when the line had no requested time: 08:00 UTC.
pub const DEFAULT_TIME_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// A proposed day as a time: it keeps the time of day of the date it replaces (Odoo shows
/// the line at the same hour), or [`DEFAULT_TIME_OF_DAY`] when the line had none.
pub fn proposed_time(day: NaiveDate, requested: Option<NaiveDateTime>) -> NaiveDateTime {
    day.and_time(requested.map_or(DEFAULT_TIME_OF_DAY, |r| r.time()))
}

/// A supplier's own settings, each over the global default where it is not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SupplierOverrides {
    pub ack_window_hours: Option<i64>,
    pub date_tolerance_days: Option<i64>,
    pub quantity_tolerance_percent: Option<Decimal>,
    pub over_delivery_percent: Option<Decimal>,
}

impl SupplierOverrides {
    pub fn tolerance(&self, default: TolerancePolicy) -> TolerancePolicy {
        TolerancePolicy {
            date_days: self.date_tolerance_days.unwrap_or(default.date_days),
            quantity_percent: self
                .quantity_tolerance_percent
                .unwrap_or(default.quantity_percent),
        }
    }

    pub fn ack_window_hours(&self, default: i64) -> i64 {
        self.ack_window_hours.unwrap_or(default)
    }

    pub fn over_delivery_percent(&self, default: Decimal) -> Decimal {
        self.over_delivery_percent.unwrap_or(default)
    }
}

/// A supplier's answer to one line, parsed and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LineAnswer {
    Accept,
    Propose {
        date: Option<NaiveDate>,
        quantity: Option<Decimal>,
        reason: String,
    },
    Reject {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum LineAnswerError {
    #[error("propose a new date, a new quantity, or both")]
    NothingProposed,
    #[error("the proposed quantity must be more than zero (use reject to decline the line)")]
    QuantityNotPositive,
    #[error("the proposed date {date} is in the past")]
    DateInPast { date: NaiveDate },
    #[error("give a reason so the buyer can decide")]
    ReasonMissing,
    #[error("the reason is too long (at most {max} characters)")]
    ReasonTooLong { max: usize },
}

pub const MAX_REASON_CHARS: usize = 500;

impl LineAnswer {
    /// Builds a proposal from what the supplier typed. A field equal to the current value
    /// counts as not proposed.
    pub fn propose(
        date: Option<NaiveDate>,
        quantity: Option<Decimal>,
        reason: &str,
        current_date: NaiveDate,
        current_quantity: Decimal,
        today: NaiveDate,
    ) -> Result<Self, LineAnswerError> {
        let date = date.filter(|d| *d != current_date);
        let quantity = quantity.filter(|q| *q != current_quantity);
        if date.is_none() && quantity.is_none() {
            return Err(LineAnswerError::NothingProposed);
        }
        if let Some(q) = quantity {
            if q <= Decimal::ZERO {
                return Err(LineAnswerError::QuantityNotPositive);
            }
        }
        if let Some(d) = date {
            if d < today {
                return Err(LineAnswerError::DateInPast { date: d });
            }
        }
        Ok(LineAnswer::Propose {
            date,
            quantity,
            reason: parse_reason(reason)?,
        })
    }

    pub fn reject(reason: &str) -> Result<Self, LineAnswerError> {
        Ok(LineAnswer::Reject {
            reason: parse_reason(reason)?,
        })
    }
}

fn parse_reason(reason: &str) -> Result<String, LineAnswerError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(LineAnswerError::ReasonMissing);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(LineAnswerError::ReasonTooLong {
            max: MAX_REASON_CHARS,
        });
    }
    Ok(reason.to_string())
}

/// The policy's decision on a proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    AcceptedAutomatically,
    NeedsBuyer { reasons: Vec<String> },
}

impl TolerancePolicy {
    pub fn judge(
        &self,
        requested_date: NaiveDate,
        ordered_quantity: Decimal,
        proposed_date: Option<NaiveDate>,
        proposed_quantity: Option<Decimal>,
    ) -> Verdict {
        let mut reasons = Vec::new();
        if let Some(date) = proposed_date {
            let shift = (date - requested_date).num_days();
            if shift.abs() > self.date_days {
                reasons.push(format!(
                    "date moves {} day(s), tolerance is ±{}",
                    shift, self.date_days
                ));
            }
        }
        if let Some(quantity) = proposed_quantity {
            if ordered_quantity > Decimal::ZERO {
                let change =
                    (quantity - ordered_quantity).abs() * Decimal::ONE_HUNDRED / ordered_quantity;
                if change > self.quantity_percent {
                    reasons.push(format!(
                        "quantity changes {}%, tolerance is ±{}%",
                        change.round_dp(1).normalize(),
                        self.quantity_percent.normalize()
                    ));
                }
            } else {
                reasons.push("the ordered quantity is zero".to_string());
            }
        }
        if reasons.is_empty() {
            Verdict::AcceptedAutomatically
        } else {
            Verdict::NeedsBuyer { reasons }
        }
    }
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

    fn check(date: Option<&str>, qty: Option<&str>, auto: bool) {
        let policy = TolerancePolicy {
            date_days: 3,
            quantity_percent: q("10"),
        };
        let verdict = policy.judge(d("2026-12-10"), q("100"), date.map(d), qty.map(q));
        assert_eq!(
            verdict == Verdict::AcceptedAutomatically,
            auto,
            "{date:?} {qty:?}: {verdict:?}"
        );
    }

    #[test]
    fn tolerance_boundaries_are_inclusive() {
        check(Some("2026-12-13"), None, true);
        check(Some("2026-12-07"), None, true);
        check(Some("2026-12-14"), None, false);
        check(Some("2026-12-06"), None, false);
        check(None, Some("110"), true);
        check(None, Some("90"), true);
        check(None, Some("110.01"), false);
        check(None, Some("89.99"), false);
        check(Some("2026-12-11"), Some("111"), false);
        check(Some("2026-12-20"), Some("100"), false);
    }

    #[test]
    fn needs_buyer_explains_why() {
        let policy = TolerancePolicy {
            date_days: 1,
            quantity_percent: q("5"),
        };
        let verdict = policy.judge(
            d("2026-12-10"),
            q("10"),
            Some(d("2026-12-15")),
            Some(q("12")),
        );
        assert_eq!(
            verdict,
            Verdict::NeedsBuyer {
                reasons: vec![
                    "date moves 5 day(s), tolerance is ±1".to_string(),
                    "quantity changes 20%, tolerance is ±5%".to_string()
                ]
            }
        );
    }

    #[test]
    fn proposals_are_checked_at_the_boundary() {
        let today = d("2026-11-26");
        let p = |date: Option<&str>, qty: Option<&str>, reason: &str| {
            LineAnswer::propose(
                date.map(d),
                qty.map(q),
                reason,
                d("2026-12-10"),
                q("10"),
                today,
            )
        };
        assert_eq!(p(None, None, "x"), Err(LineAnswerError::NothingProposed));
        assert_eq!(
            p(Some("2026-12-10"), Some("10"), "x"),
            Err(LineAnswerError::NothingProposed)
        );
        assert_eq!(
            p(None, Some("0"), "x"),
            Err(LineAnswerError::QuantityNotPositive)
        );
        assert_eq!(
            p(Some("2026-11-25"), None, "x"),
            Err(LineAnswerError::DateInPast {
                date: d("2026-11-25")
            })
        );
        assert_eq!(
            p(Some("2026-12-12"), None, "  "),
            Err(LineAnswerError::ReasonMissing)
        );
        assert_eq!(
            p(Some("2026-12-12"), Some("10"), " late steel "),
            Ok(LineAnswer::Propose {
                date: Some(d("2026-12-12")),
                quantity: None,
                reason: "late steel".into()
            })
        );
        assert_eq!(LineAnswer::reject(""), Err(LineAnswerError::ReasonMissing));
        assert!(matches!(
            LineAnswer::reject(&"x".repeat(MAX_REASON_CHARS + 1)),
            Err(LineAnswerError::ReasonTooLong { .. })
        ));
    }

    #[test]
    fn a_proposed_day_keeps_the_requested_time_of_day() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        let requested = NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(14, 30, 0);
        assert_eq!(
            proposed_time(day, requested).to_string(),
            "2026-12-10 14:30:00"
        );
        assert_eq!(proposed_time(day, None).to_string(), "2026-12-10 08:00:00");
    }

    #[test]
    fn a_supplier_setting_wins_over_the_default_only_where_set() {
        let default = TolerancePolicy::default();
        let none = SupplierOverrides::default();
        assert_eq!(none.tolerance(default), default);
        assert_eq!(none.ack_window_hours(24), 24);
        let some = SupplierOverrides {
            date_tolerance_days: Some(7),
            ack_window_hours: Some(48),
            ..Default::default()
        };
        assert_eq!(some.tolerance(default).date_days, 7);
        assert_eq!(
            some.tolerance(default).quantity_percent,
            default.quantity_percent
        );
        assert_eq!(some.ack_window_hours(24), 48);
        assert_eq!(some.over_delivery_percent(Decimal::ONE), Decimal::ONE);
    }
}

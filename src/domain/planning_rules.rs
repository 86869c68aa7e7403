//! Demand planning's rules beyond the intake (issue 14): what makes a planner's override of a
//! forecast bucket valid and whether it still applies, whether a version's changes are
//! within the limits that approve it without a planner, and which imported row stands for a
//! bucket. No I/O.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A planner's override of one bucket, checked: a quantity of zero or more, a reason, and
/// a last day in the future.
#[derive(Clone, Debug, PartialEq)]
pub struct OverrideInput {
    quantity: Decimal,
    reason: String,
    until: NaiveDate,
}

impl OverrideInput {
    /// Reads the form's values; `today` is the planner's day (UTC on the server).
    pub fn parse(
        quantity: &str,
        reason: &str,
        until: &str,
        today: NaiveDate,
    ) -> Result<Self, String> {
        let quantity = quantity.trim().parse::<Decimal>().map_err(|_| {
            format!(
                "The quantity {:?} is not a number: write e.g. 120 or 12.5.",
                quantity.trim()
            )
        })?;
        if quantity.is_sign_negative() && !quantity.is_zero() {
            return Err(format!(
                "The quantity {quantity} is negative: an override is zero or more."
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err("Say why you override the forecast (the reason is required).".into());
        }
        if reason.chars().count() > 500 {
            return Err("The reason is at most 500 characters.".into());
        }
        let until = NaiveDate::parse_from_str(until.trim(), "%Y-%m-%d").map_err(|_| {
            format!(
                "The date {:?} is not a date: give the last day the override applies as YYYY-MM-DD.",
                until.trim()
            )
        })?;
        if until <= today {
            return Err(format!(
                "The override would end on {until}, which is not in the future: pick a day after {today}."
            ));
        }
        Ok(OverrideInput {
            quantity: quantity.normalize(),
            reason: reason.to_string(),
            until,
        })
    }

    pub fn quantity(&self) -> Decimal {
        self.quantity
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn until(&self) -> NaiveDate {
        self.until
    }
}

/// An override applies through its last day.
pub fn override_applies(until: NaiveDate, today: NaiveDate) -> bool {
    until >= today
}

/// Limits within which a new version is approved without a planner: each bucket's change
/// must be within the percentage or within the absolute amount (either one suffices; an
/// unset limit never does).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoApproveLimits {
    pub max_percent: Option<Decimal>,
    pub max_absolute: Option<Decimal>,
}

impl AutoApproveLimits {
    /// Checks the settings form: each limit empty or zero or more, at least one set.
    pub fn parse(max_percent: &str, max_absolute: &str) -> Result<Option<Self>, String> {
        let read = |v: &str, what: &str| -> Result<Option<Decimal>, String> {
            match v.trim() {
                "" => Ok(None),
                v => match v.parse::<Decimal>() {
                    Ok(d) if !d.is_sign_negative() || d.is_zero() => Ok(Some(d.normalize())),
                    _ => Err(format!(
                        "The {what} {v:?} is not a number of zero or more (or leave it empty)."
                    )),
                },
            }
        };
        let limits = AutoApproveLimits {
            max_percent: read(max_percent, "percentage")?,
            max_absolute: read(max_absolute, "absolute change")?,
        };
        Ok((limits.max_percent.is_some() || limits.max_absolute.is_some()).then_some(limits))
    }

    /// Whether one bucket's change is within the limits; a bucket that appears or
    /// disappears changes from or to zero.
    pub fn within(&self, previous: Option<Decimal>, now: Option<Decimal>) -> bool {
        let p = previous.unwrap_or_default();
        let n = now.unwrap_or_default();
        let change = (n - p).abs();
        let by_amount = self.max_absolute.is_some_and(|m| change <= m);
        let by_percent = self.max_percent.is_some_and(|m| {
            if p.is_zero() {
                change.is_zero()
            } else {
                change * Decimal::ONE_HUNDRED <= m * p.abs()
            }
        });
        by_amount || by_percent
    }

    /// How the approval is recorded: "within 10%", "within 5 units" or both.
    pub fn describe(&self) -> String {
        match (self.max_percent, self.max_absolute) {
            (Some(p), Some(a)) => format!("within {p}% or {a} units"),
            (Some(p), None) => format!("within {p}%"),
            (None, Some(a)) => format!("within {a} units"),
            (None, None) => "no limits".into(),
        }
    }
}

/// Which forecast kind stands for a bucket when a version holds several: an override row
/// of the source, then the consensus, then the statistical forecast.
pub fn kind_rank(kind: &str) -> u8 {
    match kind {
        "override" => 0,
        "consensus" => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn check(q: &str, reason: &str, until: &str, expected: Result<(), &str>) {
        let got = OverrideInput::parse(q, reason, until, day("2026-12-01")).map(|_| ());
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(part)) => assert!(e.contains(part), "{e} lacks {part}"),
            (got, expected) => panic!("{q} {reason} {until}: {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn overrides_need_a_non_negative_quantity_a_reason_and_a_future_day() {
        check("12.5", "promotion", "2026-12-02", Ok(()));
        check("0", "line stopped", "2027-01-01", Ok(()));
        check("-1", "x", "2027-01-01", Err("negative"));
        check("ten", "x", "2027-01-01", Err("not a number"));
        check("10", "  ", "2027-01-01", Err("reason is required"));
        check("10", "x", "2026-12-01", Err("not in the future"));
        check("10", "x", "01.02.2027", Err("YYYY-MM-DD"));
    }

    #[test]
    fn an_override_applies_through_its_last_day() {
        assert!(override_applies(day("2026-12-01"), day("2026-12-01")));
        assert!(!override_applies(day("2026-11-30"), day("2026-12-01")));
    }

    #[test]
    fn a_change_passes_within_either_limit() {
        let d = |s: &str| Some(s.parse::<Decimal>().unwrap());
        let pct = AutoApproveLimits::parse("10", "").unwrap().unwrap();
        assert!(pct.within(d("100"), d("110")));
        assert!(pct.within(d("100"), d("90")));
        assert!(!pct.within(d("100"), d("111")));
        assert!(!pct.within(None, d("1")), "a new bucket is no small change");
        assert!(pct.within(d("0"), d("0")));
        let both = AutoApproveLimits::parse("10", "5").unwrap().unwrap();
        assert!(
            both.within(d("10"), d("15")),
            "5 units is within the amount"
        );
        assert!(both.within(None, d("4")));
        assert!(!both.within(d("10"), d("16")));
        assert_eq!(both.describe(), "within 10% or 5 units");
        assert_eq!(AutoApproveLimits::parse("", "").unwrap(), None);
        assert!(AutoApproveLimits::parse("-3", "").is_err());
    }
}

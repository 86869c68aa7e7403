//! The canonical planning format (issue 14): what a forecast snapshot row and a supply
//! recommendation row hold, and the rules one field or one row must meet: bucket lengths
//! and their alignment (a week starts on Monday, a month on the 1st), quantities (a
//! non-negative decimal, in the file's decimal separator), dates (in a source's format),
//! conversion into the product's unit by a factor, and duplicate keys. Mapping codes to
//! Odoo records is not here (it needs the database): `server::planning::mapping`.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a snapshot carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SnapshotKind {
    Forecast,
    Supply,
}

impl SnapshotKind {
    pub fn code(self) -> &'static str {
        match self {
            SnapshotKind::Forecast => "forecast",
            SnapshotKind::Supply => "supply",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        match s {
            "forecast" => Some(SnapshotKind::Forecast),
            "supply" => Some(SnapshotKind::Supply),
            _ => None,
        }
    }
    /// The canonical fields of a row of this kind: (name, required).
    pub fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            SnapshotKind::Forecast => FORECAST_FIELDS,
            SnapshotKind::Supply => SUPPLY_FIELDS,
        }
    }
}

/// A forecast snapshot row's fields: (name, required).
pub const FORECAST_FIELDS: &[(&str, bool)] = &[
    ("item", true),
    ("location", true),
    ("bucket_start", true),
    ("bucket", true),
    ("quantity", true),
    ("unit", true),
    ("kind", true),
    ("safety_stock", false),
    ("min", false),
    ("max", false),
];

/// A supply recommendation row's fields: (name, required).
pub const SUPPLY_FIELDS: &[(&str, bool)] = &[
    ("item", true),
    ("location", true),
    ("quantity", true),
    ("unit", true),
    ("need_by", true),
    ("vendor", false),
    ("source_id", true),
];

/// A bucket's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Bucket {
    Day,
    Week,
    Month,
}

impl Bucket {
    pub fn code(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Some(Bucket::Day),
            "week" => Some(Bucket::Week),
            "month" => Some(Bucket::Month),
            _ => None,
        }
    }
    /// Whether `start` begins a bucket of this length.
    pub fn aligned(self, start: NaiveDate) -> bool {
        match self {
            Bucket::Day => true,
            Bucket::Week => start.weekday() == Weekday::Mon,
            Bucket::Month => start.day() == 1,
        }
    }
    /// The start of the bucket `date` falls in (what to write instead of a misaligned start).
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Bucket::Day => date,
            Bucket::Week => {
                date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Bucket::Month => date.with_day(1).unwrap_or(date),
        }
    }
}

/// Which forecast a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForecastKind {
    Statistical,
    Consensus,
    Override,
}

impl ForecastKind {
    pub fn code(self) -> &'static str {
        match self {
            ForecastKind::Statistical => "statistical",
            ForecastKind::Consensus => "consensus",
            ForecastKind::Override => "override",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "statistical" => Some(ForecastKind::Statistical),
            "consensus" => Some(ForecastKind::Consensus),
            "override" => Some(ForecastKind::Override),
            _ => None,
        }
    }
}

/// How a source writes numbers and dates (a column-mapping profile's part of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberFormat {
    /// `.` or `,`; the other one is taken as a thousands separator and dropped.
    pub decimal_separator: char,
}

impl Default for NumberFormat {
    fn default() -> Self {
        NumberFormat {
            decimal_separator: '.',
        }
    }
}

/// Why a quantity was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("is not a number")]
    NotANumber,
    #[error("is negative")]
    Negative,
}

/// A non-negative decimal written with `format`'s decimal separator.
pub fn parse_quantity(s: &str, format: &NumberFormat) -> Result<Decimal, QuantityError> {
    let s = s.trim();
    let thousands = if format.decimal_separator == ',' {
        '.'
    } else {
        ','
    };
    let normal: String = s
        .chars()
        .filter(|c| *c != thousands && *c != ' ')
        .map(|c| {
            if c == format.decimal_separator {
                '.'
            } else {
                c
            }
        })
        .collect();
    if normal.is_empty()
        || !normal
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
    {
        return Err(QuantityError::NotANumber);
    }
    let value: Decimal = normal.parse().map_err(|_| QuantityError::NotANumber)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(QuantityError::Negative);
    }
    Ok(value.normalize())
}

/// The canonical date format, and the default of a source's profile.
pub const CANONICAL_DATE_FORMAT: &str = "%Y-%m-%d";

/// A date written in `format` (chrono's `%Y-%m-%d` style).
pub fn parse_date(s: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), format).ok()
}

/// A quantity in the file's unit as the product's unit counts it: `1 <file unit> = factor
/// <product unit>`.
pub fn convert(quantity: Decimal, factor: Decimal) -> Decimal {
    (quantity * factor).normalize()
}

/// A conversion factor: a positive decimal.
pub fn parse_factor(s: &str) -> Option<Decimal> {
    s.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|f| *f > Decimal::ZERO)
}

/// Whether `date` lies within the horizon `[today - past_days, today + future_days]`.
pub fn within_horizon(date: NaiveDate, today: NaiveDate, past_days: i64, future_days: i64) -> bool {
    date >= today - chrono::Duration::days(past_days)
        && date <= today + chrono::Duration::days(future_days)
}

/// Remembers the rows' keys and answers which earlier row a key repeats. Forecast rows are
/// keyed by item, location, bucket start and kind; one item-location keeps one bucket
/// length (a week and a day starting on the same date would overlap). Keys are kept as
/// 64-bit hashes, so a million rows take tens of megabytes, not hundreds (two different
/// keys sharing a hash, about one chance in 10^7 at a million rows, would be reported as a
/// duplicate the planner can see is not one).
#[derive(Default)]
pub struct KeySeen {
    rows: HashMap<u64, usize>,
    lengths: HashMap<(String, String), (Bucket, usize)>,
}

/// A repeated or overlapping key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClash {
    /// The same key as the row given.
    Duplicate { first_row: usize },
    /// Another bucket length for this item-location than the row given.
    MixedBuckets { first_row: usize, first: Bucket },
}

impl KeySeen {
    /// Records a forecast row's key; the clash with an earlier row, if any.
    pub fn forecast(
        &mut self,
        row: usize,
        item: &str,
        location: &str,
        start: NaiveDate,
        bucket: Bucket,
        kind: ForecastKind,
    ) -> Result<(), KeyClash> {
        let pair = (item.to_string(), location.to_string());
        match self.lengths.get(&pair) {
            Some((first, first_row)) if *first != bucket => {
                return Err(KeyClash::MixedBuckets {
                    first_row: *first_row,
                    first: *first,
                })
            }
            Some(_) => {}
            None => {
                self.lengths.insert(pair, (bucket, row));
            }
        }
        self.once(
            format!("{item}\u{1f}{location}\u{1f}{start}\u{1f}{}", kind.code()),
            row,
        )
    }

    /// Records a supply recommendation's key (the source's own id).
    pub fn supply(&mut self, row: usize, source_id: &str) -> Result<(), KeyClash> {
        self.once(source_id.to_string(), row)
    }

    fn once(&mut self, key: String, row: usize) -> Result<(), KeyClash> {
        use std::hash::{Hash, Hasher};
        // `DefaultHasher::new()` has fixed keys: a key hashes the same way throughout a file.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let key = hasher.finish();
        match self.rows.get(&key) {
            Some(first_row) => Err(KeyClash::Duplicate {
                first_row: *first_row,
            }),
            None => {
                self.rows.insert(key, row);
                Ok(())
            }
        }
    }
}

/// How much a bucket's quantity changed against the previous approved version, in percent
/// of the previous one (None: new, or the previous was zero).
pub fn change_percent(previous: Decimal, now: Decimal) -> Option<Decimal> {
    if previous.is_zero() {
        return None;
    }
    Some(((now - previous) / previous * Decimal::ONE_HUNDRED).round_dp(1))
}

/// Whether a change is large: beyond `threshold_percent` either way, or a bucket that
/// appears or disappears.
pub fn large_change(
    previous: Option<Decimal>,
    now: Option<Decimal>,
    threshold_percent: Decimal,
) -> bool {
    match (previous, now) {
        (Some(p), Some(n)) => match change_percent(p, n) {
            Some(pct) => pct.abs() > threshold_percent,
            None => !n.is_zero(),
        },
        (None, Some(n)) | (Some(n), None) => !n.is_zero(),
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn buckets_align_to_their_length() {
        fn check(bucket: &str, start: &str, aligned: bool, start_of: &str) {
            let b = Bucket::parse(bucket).unwrap();
            assert_eq!(b.aligned(d(start)), aligned, "{bucket} {start}");
            assert_eq!(b.start_of(d(start)), d(start_of), "{bucket} {start}");
        }
        check("day", "2026-12-03", true, "2026-12-03");
        check("week", "2026-11-30", true, "2026-11-30"); // a Monday
        check("week", "2026-12-03", false, "2026-11-30"); // a Thursday
        check("WEEK", "2026-12-06", false, "2026-11-30"); // a Sunday
        check("month", "2026-12-01", true, "2026-12-01");
        check("month", "2026-12-15", false, "2026-12-01");
        assert_eq!(Bucket::parse("fortnight"), None);
    }

    #[test]
    fn quantities_are_non_negative_decimals_in_the_sources_separator() {
        let dot = NumberFormat::default();
        let comma = NumberFormat {
            decimal_separator: ',',
        };
        fn check(s: &str, f: &NumberFormat, expected: Result<&str, QuantityError>) {
            let got = parse_quantity(s, f).map(|d| d.to_string());
            assert_eq!(got, expected.map(str::to_string), "{s:?}");
        }
        check("12", &dot, Ok("12"));
        check(" 12.50 ", &dot, Ok("12.5"));
        check("1,200.5", &dot, Ok("1200.5"));
        check("0", &dot, Ok("0"));
        check("-0", &dot, Ok("0"));
        check("12,5", &comma, Ok("12.5"));
        check("1.200,5", &comma, Ok("1200.5"));
        check("-3", &dot, Err(QuantityError::Negative));
        check("twelve", &dot, Err(QuantityError::NotANumber));
        check("", &dot, Err(QuantityError::NotANumber));
        check("1e3", &dot, Err(QuantityError::NotANumber));
        check("NaN", &dot, Err(QuantityError::NotANumber));
    }

    #[test]
    fn dates_read_in_the_sources_format() {
        assert_eq!(
            parse_date("2026-12-07", CANONICAL_DATE_FORMAT),
            Some(d("2026-12-07"))
        );
        assert_eq!(parse_date("07.12.2026", "%d.%m.%Y"), Some(d("2026-12-07")));
        assert_eq!(parse_date("2026-13-01", CANONICAL_DATE_FORMAT), None);
        assert_eq!(parse_date("07/12/2026", CANONICAL_DATE_FORMAT), None);
    }

    #[test]
    fn units_convert_by_their_factor() {
        let dozen = parse_factor("12").unwrap();
        assert_eq!(convert(Decimal::new(25, 1), dozen).to_string(), "30");
        assert_eq!(convert(Decimal::new(7, 0), Decimal::ONE).to_string(), "7");
        assert_eq!(parse_factor("0"), None);
        assert_eq!(parse_factor("-2"), None);
        assert_eq!(parse_factor("x"), None);
    }

    #[test]
    fn repeated_and_overlapping_keys_name_the_first_row() {
        let mut seen = KeySeen::default();
        let week = Bucket::Week;
        let stat = ForecastKind::Statistical;
        assert_eq!(
            seen.forecast(2, "A", "WH", d("2026-11-30"), week, stat),
            Ok(())
        );
        assert_eq!(
            seen.forecast(3, "A", "WH", d("2026-12-07"), week, stat),
            Ok(())
        );
        // Another kind or another location is another key.
        assert_eq!(
            seen.forecast(4, "A", "WH", d("2026-11-30"), week, ForecastKind::Consensus),
            Ok(())
        );
        assert_eq!(
            seen.forecast(5, "A", "CHI", d("2026-11-30"), week, stat),
            Ok(())
        );
        assert_eq!(
            seen.forecast(6, "A", "WH", d("2026-11-30"), week, stat),
            Err(KeyClash::Duplicate { first_row: 2 })
        );
        assert_eq!(
            seen.forecast(7, "A", "WH", d("2026-12-01"), Bucket::Day, stat),
            Err(KeyClash::MixedBuckets {
                first_row: 2,
                first: Bucket::Week
            })
        );
        assert_eq!(seen.supply(8, "R-1"), Ok(()));
        assert_eq!(
            seen.supply(9, "R-1"),
            Err(KeyClash::Duplicate { first_row: 8 })
        );
    }

    #[test]
    fn the_horizon_bounds_dates_both_ways() {
        let today = d("2026-12-01");
        assert!(within_horizon(d("2027-06-01"), today, 30, 365));
        assert!(!within_horizon(d("2028-06-01"), today, 30, 365));
        assert!(!within_horizon(d("2026-09-01"), today, 30, 365));
    }

    #[test]
    fn large_changes_pass_the_threshold_either_way() {
        let t = Decimal::from(20);
        let q = |n: i64| Some(Decimal::from(n));
        assert!(!large_change(q(100), q(110), t));
        assert!(large_change(q(100), q(121), t));
        assert!(large_change(q(100), q(79), t));
        assert!(large_change(None, q(5), t));
        assert!(large_change(q(5), None, t));
        assert!(!large_change(None, q(0), t));
        assert!(large_change(q(0), q(3), t));
        assert_eq!(
            change_percent(Decimal::from(80), Decimal::from(100)),
            Some(Decimal::from(25))
        );
    }
}

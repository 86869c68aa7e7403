//! Reading Odoo values: `false` means empty for every type, many2one is `[id, name]`,
//! datetimes are naive UTC `YYYY-MM-DD HH:MM:SS`.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::Value;

pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// `(id, display name)` of a many2one; also accepts a bare id (`load=None`).
pub fn many2one(v: Option<&Value>) -> Option<(i64, String)> {
    match v {
        Some(Value::Array(a)) => Some((
            a.first()?.as_i64()?,
            a.get(1)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )),
        Some(Value::Number(n)) => Some((n.as_i64()?, String::new())),
        _ => None,
    }
}

pub fn ids(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect()
}

/// Odoo floats as decimals, rounded to what a float can mean (6 places).
pub fn decimal(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|f| Decimal::try_from(f).ok())
            .map(|d| d.round_dp(6).normalize())
            .unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

pub fn datetime(v: Option<&Value>) -> Option<NaiveDateTime> {
    let s = text(v)?;
    NaiveDateTime::parse_from_str(s.get(..19)?, DATETIME_FORMAT).ok()
}

/// The only datetime format Odoo accepts on write (ISO `T...Z` is rejected).
pub fn to_wire(dt: NaiveDateTime) -> String {
    dt.format(DATETIME_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn false_is_empty_for_every_type() {
        assert_eq!(text(Some(&json!(false))), None);
        assert_eq!(many2one(Some(&json!(false))), None);
        assert_eq!(datetime(Some(&json!(false))), None);
        assert_eq!(decimal(Some(&json!(false))), Decimal::ZERO);
    }

    #[test]
    fn many2one_pairs_and_bare_ids() {
        assert_eq!(
            many2one(Some(&json!([8, "Wood Corner"]))),
            Some((8, "Wood Corner".into()))
        );
        assert_eq!(many2one(Some(&json!(203))), Some((203, String::new())));
    }

    #[test]
    fn datetimes_round_trip_and_ignore_microseconds() {
        let dt = datetime(Some(&json!("2026-11-26 16:08:40.914195"))).unwrap();
        assert_eq!(to_wire(dt), "2026-11-26 16:08:40");
        assert_eq!(decimal(Some(&json!(280.8))).to_string(), "280.8");
    }
}

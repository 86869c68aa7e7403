//! Advance shipment notice rules: how much may be announced per line, and lot/serial numbers.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a product is tracked in Odoo (`product.product.tracking`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tracking {
    None,
    Lot,
    Serial,
}

impl Tracking {
    pub fn from_odoo(value: &str) -> Self {
        match value {
            "lot" => Tracking::Lot,
            "serial" => Tracking::Serial,
            _ => Tracking::None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AsnLineError {
    #[error("the shipped quantity must be more than zero")]
    NotPositive,
    #[error("shipped quantity {value} is more than the {allowed} that may still be shipped")]
    MoreThanOpen { value: Decimal, allowed: Decimal },
    #[error("this product is tracked by lot: give a lot number")]
    LotMissing,
    #[error("this product is tracked by serial number: give {expected} serial number(s), one per unit, not {given}")]
    SerialCountMismatch { expected: Decimal, given: usize },
    #[error("serial number {serial} appears twice")]
    SerialDuplicated { serial: String },
    #[error("serial-tracked quantities must be whole units")]
    SerialFractional,
}

/// A quantity the supplier promises to ship on one line: positive, and at most the open
/// quantity plus the over-delivery tolerance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedQuantity(Decimal);

impl ShippedQuantity {
    pub fn parse(
        value: Decimal,
        open: Decimal,
        over_delivery_percent: Decimal,
    ) -> Result<Self, AsnLineError> {
        if value <= Decimal::ZERO {
            return Err(AsnLineError::NotPositive);
        }
        let allowed =
            (open + open * over_delivery_percent / Decimal::ONE_HUNDRED).max(Decimal::ZERO);
        if value > allowed {
            return Err(AsnLineError::MoreThanOpen {
                value,
                allowed: allowed.normalize(),
            });
        }
        Ok(Self(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// Checks the lot or serial numbers given for a shipped quantity; returns them trimmed.
pub fn check_tracking(
    tracking: Tracking,
    quantity: ShippedQuantity,
    numbers: &[String],
) -> Result<Vec<String>, AsnLineError> {
    let numbers: Vec<String> = numbers
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    match tracking {
        Tracking::None => Ok(Vec::new()),
        Tracking::Lot if numbers.is_empty() => Err(AsnLineError::LotMissing),
        Tracking::Lot => Ok(numbers),
        Tracking::Serial => {
            let q = quantity.value();
            if q.fract() != Decimal::ZERO {
                return Err(AsnLineError::SerialFractional);
            }
            if Decimal::from(numbers.len()) != q {
                return Err(AsnLineError::SerialCountMismatch {
                    expected: q.normalize(),
                    given: numbers.len(),
                });
            }
            let mut seen = std::collections::HashSet::new();
            for n in &numbers {
                if !seen.insert(n.as_str()) {
                    return Err(AsnLineError::SerialDuplicated { serial: n.clone() });
                }
            }
            Ok(numbers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    #[test]
    fn shipped_quantity_respects_open_plus_tolerance() {
        let check = |value: &str, open: &str, pct: &str, ok: bool| {
            assert_eq!(
                ShippedQuantity::parse(q(value), q(open), q(pct)).is_ok(),
                ok,
                "{value} of {open} +{pct}%"
            );
        };
        check("10", "10", "0", true);
        check("10.5", "10", "5", true);
        check("10.51", "10", "5", false);
        check("0", "10", "5", false);
        check("-1", "10", "5", false);
        check("1", "0", "5", false);
        assert_eq!(
            ShippedQuantity::parse(q("12"), q("10"), q("0")),
            Err(AsnLineError::MoreThanOpen {
                value: q("12"),
                allowed: q("10")
            })
        );
    }

    #[test]
    fn serials_must_match_quantity_and_be_unique() {
        let three = ShippedQuantity::parse(q("3"), q("5"), q("0")).expect("valid");
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_tracking(Tracking::Serial, three, &s(&["a", "b", "c"])).is_ok());
        assert_eq!(
            check_tracking(Tracking::Serial, three, &s(&["a", "b"])),
            Err(AsnLineError::SerialCountMismatch {
                expected: q("3"),
                given: 2
            })
        );
        assert_eq!(
            check_tracking(Tracking::Serial, three, &s(&["a", "b", " a "])),
            Err(AsnLineError::SerialDuplicated { serial: "a".into() })
        );
        assert_eq!(
            check_tracking(Tracking::Lot, three, &s(&[" "])),
            Err(AsnLineError::LotMissing)
        );
        assert_eq!(
            check_tracking(Tracking::Lot, three, &s(&["L1"])),
            Ok(s(&["L1"]))
        );
        assert_eq!(
            check_tracking(Tracking::None, three, &s(&["x"])),
            Ok(vec![])
        );
        let half = ShippedQuantity::parse(q("1.5"), q("5"), q("0")).expect("valid");
        assert_eq!(
            check_tracking(Tracking::Serial, half, &s(&["a"])),
            Err(AsnLineError::SerialFractional)
        );
    }
}

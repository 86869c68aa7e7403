//! What the warehouse received against what shipment notices announced, per order line,
//! once the order's receipts are settled (validated, none still open).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discrepancy {
    /// Less arrived than was announced.
    Short {
        announced: Decimal,
        received: Decimal,
    },
    /// More arrived than was announced.
    Over {
        announced: Decimal,
        received: Decimal,
    },
    /// Goods arrived that no notice announced.
    WithoutNotice { received: Decimal },
    /// The quantities agree but the lots or serials differ.
    DifferentLots {
        announced: Vec<String>,
        received: Vec<String>,
    },
}

impl Discrepancy {
    pub fn code(&self) -> &'static str {
        match self {
            Discrepancy::Short { .. } => "short",
            Discrepancy::Over { .. } => "over",
            Discrepancy::WithoutNotice { .. } => "without_notice",
            Discrepancy::DifferentLots { .. } => "different_lots",
        }
    }

    /// A sentence for the buyer and the supplier alike.
    pub fn describe(&self) -> String {
        match self {
            Discrepancy::Short {
                announced,
                received,
            } => format!(
                "short: {} announced, {} received",
                announced.normalize(),
                received.normalize()
            ),
            Discrepancy::Over {
                announced,
                received,
            } => format!(
                "over: {} announced, {} received",
                announced.normalize(),
                received.normalize()
            ),
            Discrepancy::WithoutNotice { received } => format!(
                "received without a shipment notice: {}",
                received.normalize()
            ),
            Discrepancy::DifferentLots {
                announced,
                received,
            } => format!(
                "different lots: announced {}, received {}",
                announced.join(", "),
                received.join(", ")
            ),
        }
    }
}

/// The discrepancy of one line. `announced`: the sum of its non-cancelled notices (None
/// when no notice named it); `settled`: the order has a validated receipt and no open one
/// (before that, a shortfall may still be on its way). Lots compare as sets, ignoring
/// case and surrounding spaces; they are only compared when both sides name some.
pub fn line_discrepancy(
    announced: Option<Decimal>,
    received: Decimal,
    announced_lots: &[String],
    received_lots: &[String],
    settled: bool,
) -> Option<Discrepancy> {
    if !settled {
        return None;
    }
    match announced.filter(|a| *a > Decimal::ZERO) {
        None if received > Decimal::ZERO => Some(Discrepancy::WithoutNotice { received }),
        None => None,
        Some(a) if received < a => Some(Discrepancy::Short {
            announced: a,
            received,
        }),
        Some(a) if received > a => Some(Discrepancy::Over {
            announced: a,
            received,
        }),
        Some(_) => {
            let norm = |v: &[String]| {
                let mut v: Vec<String> = v
                    .iter()
                    .map(|s| s.trim().to_uppercase())
                    .filter(|s| !s.is_empty())
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            let (a, r) = (norm(announced_lots), norm(received_lots));
            (!a.is_empty() && !r.is_empty() && a != r).then_some(Discrepancy::DifferentLots {
                announced: a,
                received: r,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    fn lots(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nothing_is_judged_before_the_receipts_are_settled() {
        assert_eq!(line_discrepancy(Some(d(10)), d(4), &[], &[], false), None);
        assert_eq!(line_discrepancy(None, d(4), &[], &[], false), None);
    }

    #[test]
    fn exactly_what_was_announced_is_no_discrepancy_and_one_unit_either_way_is() {
        assert_eq!(line_discrepancy(Some(d(10)), d(10), &[], &[], true), None);
        assert_eq!(
            line_discrepancy(Some(d(10)), d(9), &[], &[], true),
            Some(Discrepancy::Short {
                announced: d(10),
                received: d(9)
            })
        );
        assert_eq!(
            line_discrepancy(Some(d(10)), d(11), &[], &[], true),
            Some(Discrepancy::Over {
                announced: d(10),
                received: d(11)
            })
        );
        assert_eq!(
            line_discrepancy(Some(d(10)), d(0), &[], &[], true).map(|x| x.code()),
            Some("short")
        );
    }

    #[test]
    fn goods_without_a_notice_and_nothing_at_all() {
        assert_eq!(
            line_discrepancy(None, d(3), &[], &[], true),
            Some(Discrepancy::WithoutNotice { received: d(3) })
        );
        assert_eq!(
            line_discrepancy(Some(d(0)), d(3), &[], &[], true).map(|x| x.code()),
            Some("without_notice")
        );
        assert_eq!(line_discrepancy(None, d(0), &[], &[], true), None);
    }

    #[test]
    fn lots_compare_as_sets_ignoring_case_and_spaces_and_only_when_both_name_some() {
        let a = lots(&["L-1", "l-2"]);
        assert_eq!(
            line_discrepancy(Some(d(2)), d(2), &a, &lots(&[" l-2", "L-1 "]), true),
            None
        );
        assert_eq!(line_discrepancy(Some(d(2)), d(2), &a, &[], true), None);
        assert_eq!(
            line_discrepancy(Some(d(2)), d(2), &a, &lots(&["L-1", "L-3"]), true),
            Some(Discrepancy::DifferentLots {
                announced: lots(&["L-1", "L-2"]),
                received: lots(&["L-1", "L-3"]),
            })
        );
        assert!(Discrepancy::WithoutNotice { received: d(3) }
            .describe()
            .contains("without a shipment notice: 3"));
    }
}

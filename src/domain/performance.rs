//! Supplier performance from what the portal stored: how fast orders are acknowledged,
//! how many lines are confirmed as ordered, delivered on time and in full, and how well
//! shipment notices announced what arrived.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One released order, as the rules below need it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderFacts {
    pub released: NaiveDateTime,
    pub acknowledged: Option<NaiveDateTime>,
    /// The day of the order's last validated receipt, if any.
    pub received_on: Option<NaiveDate>,
    pub lines: Vec<LineFacts>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LineFacts {
    /// The supplier's answer code (`domain::order::LineAnswerState`), None if none.
    pub answer: Option<String>,
    pub quantity: Decimal,
    pub received: Decimal,
    /// The date the line is due now (as confirmed, after accepted changes).
    pub confirmed: Option<NaiveDate>,
    /// What shipment notices announced for the line (None: no notice).
    pub announced: Option<Decimal>,
}

/// `hits` out of `of`; no percentage when there is nothing to count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    pub hits: u32,
    pub of: u32,
}

impl Ratio {
    pub fn percent(self) -> Option<f64> {
        (self.of > 0).then(|| 100.0 * self.hits as f64 / self.of as f64)
    }

    /// The percentage rounded to a whole number, in integer arithmetic (the browser
    /// bundle then carries no float formatting).
    pub fn whole_percent(self) -> Option<u32> {
        (self.of > 0).then(|| (200 * self.hits + self.of) / (2 * self.of))
    }

    fn count(&mut self, hit: bool) {
        self.of += 1;
        self.hits += hit as u32;
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub orders: u32,
    /// Orders acknowledged, of those released.
    pub acknowledged: Ratio,
    /// Median hours from release to acknowledgment.
    pub ack_median_hours: Option<f64>,
    /// Lines accepted as ordered, of the lines the supplier answered.
    pub confirmed_as_ordered: Ratio,
    /// Delivered lines received by their confirmed date.
    pub on_time: Ratio,
    /// Delivered lines received in full.
    pub in_full: Ratio,
    /// Delivered lines whose notices announced exactly what was received.
    pub asn_accuracy: Ratio,
}

/// The scorecard of `orders`. A line counts as delivered once anything of it was received
/// and its order has a validated receipt; a receipt on the confirmed day is on time.
pub fn scorecard<'a>(orders: impl IntoIterator<Item = &'a OrderFacts>) -> Scorecard {
    let mut card = Scorecard::default();
    let mut latencies = Vec::new();
    for o in orders {
        card.orders += 1;
        card.acknowledged.count(o.acknowledged.is_some());
        if let Some(ack) = o.acknowledged {
            latencies.push(((ack - o.released).num_minutes().max(0)) as f64 / 60.0);
        }
        let answered = o.acknowledged.is_some() || o.lines.iter().any(|l| l.answer.is_some());
        for l in &o.lines {
            if answered {
                card.confirmed_as_ordered
                    .count(matches!(l.answer.as_deref(), None | Some("accepted")));
            }
            let Some(day) = o.received_on.filter(|_| l.received > Decimal::ZERO) else {
                continue;
            };
            card.on_time.count(l.confirmed.is_none_or(|c| day <= c));
            card.in_full.count(l.received >= l.quantity);
            if let Some(announced) = l.announced {
                card.asn_accuracy.count(announced == l.received);
            }
        }
    }
    card.ack_median_hours = median(&mut latencies);
    card
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Scorecards per month of release (`YYYY-MM`), oldest first.
pub fn by_month(orders: &[OrderFacts]) -> Vec<(String, Scorecard)> {
    let mut months: Vec<String> = orders
        .iter()
        .map(|o| o.released.format("%Y-%m").to_string())
        .collect();
    months.sort();
    months.dedup();
    months
        .into_iter()
        .map(|m| {
            let card = scorecard(
                orders
                    .iter()
                    .filter(|o| o.released.format("%Y-%m").to_string() == m),
            );
            (m, card)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn line(
        answer: Option<&str>,
        qty: i64,
        received: i64,
        confirmed: &str,
        announced: Option<i64>,
    ) -> LineFacts {
        LineFacts {
            answer: answer.map(String::from),
            quantity: Decimal::from(qty),
            received: Decimal::from(received),
            confirmed: Some(day(confirmed)),
            announced: announced.map(Decimal::from),
        }
    }

    #[test]
    fn whole_percentages_round_half_up() {
        assert_eq!(Ratio { hits: 1, of: 3 }.whole_percent(), Some(33));
        assert_eq!(Ratio { hits: 2, of: 3 }.whole_percent(), Some(67));
        assert_eq!(Ratio { hits: 1, of: 8 }.whole_percent(), Some(13));
        assert_eq!(Ratio { hits: 0, of: 0 }.whole_percent(), None);
    }

    #[test]
    fn nothing_to_count_gives_no_percentage_rather_than_zero() {
        let card = scorecard(&[]);
        assert_eq!(card.orders, 0);
        assert_eq!(card.on_time.percent(), None);
        assert_eq!(card.ack_median_hours, None);
    }

    #[test]
    fn a_receipt_on_the_confirmed_day_is_on_time_and_the_day_after_is_late() {
        let order = |received_on: &str| OrderFacts {
            released: at("2026-11-01 08:00:00"),
            acknowledged: Some(at("2026-11-01 10:30:00")),
            received_on: Some(day(received_on)),
            lines: vec![line(None, 10, 10, "2026-11-20", None)],
        };
        assert_eq!(
            scorecard(&[order("2026-11-20")]).on_time,
            Ratio { hits: 1, of: 1 }
        );
        assert_eq!(
            scorecard(&[order("2026-11-21")]).on_time,
            Ratio { hits: 0, of: 1 }
        );
    }

    #[test]
    fn in_full_asn_accuracy_and_lines_confirmed_as_ordered() {
        let o = OrderFacts {
            released: at("2026-11-01 08:00:00"),
            acknowledged: Some(at("2026-11-02 08:00:00")),
            received_on: Some(day("2026-11-10")),
            lines: vec![
                line(None, 10, 10, "2026-11-20", Some(10)), // as ordered, full, announced right
                line(Some("accepted"), 10, 8, "2026-11-20", Some(10)), // short, announced 10
                line(Some("proposal_accepted"), 5, 0, "2026-11-20", None), // not delivered yet
                line(Some("rejected"), 5, 6, "2026-11-20", None), // over, no notice
            ],
        };
        let card = scorecard(&[o]);
        assert_eq!(card.confirmed_as_ordered, Ratio { hits: 2, of: 4 });
        assert_eq!(card.in_full, Ratio { hits: 2, of: 3 });
        assert_eq!(card.asn_accuracy, Ratio { hits: 1, of: 2 });
        assert_eq!(card.ack_median_hours, Some(24.0));
    }

    #[test]
    fn unanswered_orders_count_as_unacknowledged_and_not_as_lines_confirmed() {
        let o = OrderFacts {
            released: at("2026-11-01 08:00:00"),
            acknowledged: None,
            received_on: None,
            lines: vec![line(None, 1, 0, "2026-11-20", None)],
        };
        let card = scorecard(&[o]);
        assert_eq!(card.acknowledged, Ratio { hits: 0, of: 1 });
        assert_eq!(card.confirmed_as_ordered.of, 0);
        assert_eq!(card.on_time.of, 0);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two_and_months_are_ordered() {
        let o = |released: &str, ack_hours: i64| OrderFacts {
            released: at(released),
            acknowledged: Some(at(released) + chrono::Duration::hours(ack_hours)),
            received_on: None,
            lines: vec![],
        };
        let orders = [
            o("2026-11-01 00:00:00", 1),
            o("2026-10-05 00:00:00", 3),
            o("2026-11-02 00:00:00", 5),
        ];
        let months = by_month(&orders);
        assert_eq!(
            months.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
            ["2026-10", "2026-11"]
        );
        assert_eq!(months[1].1.ack_median_hours, Some(3.0));
        assert_eq!(scorecard(&orders[..1]).ack_median_hours, Some(1.0));
    }
}

//! Purchase order and line states as a supplier understands them, and how the portal derives
//! an order's status from what Odoo holds and what the supplier answered.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The status a supplier sees on an order, derived by [`derive_order_status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    New,
    Acknowledged,
    ChangesProposed,
    ChangesAccepted,
    ChangesRejected,
    PartiallyShipped,
    Shipped,
    Received,
    ChangedInOdoo,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::New,
        OrderStatus::Acknowledged,
        OrderStatus::ChangesProposed,
        OrderStatus::ChangesAccepted,
        OrderStatus::ChangesRejected,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
        OrderStatus::Received,
        OrderStatus::ChangedInOdoo,
        OrderStatus::Cancelled,
    ];

    /// Stable code stored in the database and used in URLs.
    pub fn code(self) -> &'static str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::Acknowledged => "acknowledged",
            OrderStatus::ChangesProposed => "changes_proposed",
            OrderStatus::ChangesAccepted => "changes_accepted",
            OrderStatus::ChangesRejected => "changes_rejected",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Received => "received",
            OrderStatus::ChangedInOdoo => "changed_in_odoo",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What a person reads in the list.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::New => "New",
            OrderStatus::Acknowledged => "Acknowledged",
            OrderStatus::ChangesProposed => "Changes proposed",
            OrderStatus::ChangesAccepted => "Changes accepted",
            OrderStatus::ChangesRejected => "Changes rejected",
            OrderStatus::PartiallyShipped => "Partially shipped",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Received => "Received",
            OrderStatus::ChangedInOdoo => "Changed by buyer",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    /// Whether the supplier has something to do on an order in this status.
    pub fn needs_supplier_action(self) -> bool {
        matches!(
            self,
            OrderStatus::New | OrderStatus::ChangesRejected | OrderStatus::ChangedInOdoo
        )
    }

    /// Whether the supplier may still acknowledge the order or answer its lines; if not,
    /// why (the one rule the page's forms and the services both follow).
    pub fn answerable(self) -> Result<(), Closed> {
        match self {
            OrderStatus::Cancelled => Err(Closed::Cancelled),
            OrderStatus::Received => Err(Closed::Received),
            _ => Ok(()),
        }
    }
}

/// Why an order takes no answers any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Closed {
    /// The buyer cancelled it.
    Cancelled,
    /// Everything was received.
    Received,
}

/// Where a line stands after the supplier's answer and the buyer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineAnswerState {
    /// Accepted as ordered.
    Accepted,
    /// A new date or quantity proposed outside tolerance: waits for a buyer.
    ProposalPending,
    /// A proposal accepted (within tolerance, or by a buyer).
    ProposalAccepted,
    /// A proposal the buyer turned down; the supplier may answer again.
    ProposalRejected,
    /// The supplier cannot deliver the line; waits for a buyer.
    Rejected,
}

impl LineAnswerState {
    pub fn code(self) -> &'static str {
        match self {
            LineAnswerState::Accepted => "accepted",
            LineAnswerState::ProposalPending => "proposal_pending",
            LineAnswerState::ProposalAccepted => "proposal_accepted",
            LineAnswerState::ProposalRejected => "proposal_rejected",
            LineAnswerState::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            LineAnswerState::Accepted,
            LineAnswerState::ProposalPending,
            LineAnswerState::ProposalAccepted,
            LineAnswerState::ProposalRejected,
            LineAnswerState::Rejected,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            LineAnswerState::Accepted => "Accepted",
            LineAnswerState::ProposalPending => "Proposal awaiting buyer",
            LineAnswerState::ProposalAccepted => "Proposal accepted",
            LineAnswerState::ProposalRejected => "Proposal rejected by buyer",
            LineAnswerState::Rejected => "Rejected by you, awaiting buyer",
        }
    }
}

/// What the status of one line depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct LineFacts {
    pub ordered: Decimal,
    pub received: Decimal,
    /// Quantity announced on shipment notices that are not cancelled.
    pub shipped: Decimal,
    pub answer: Option<LineAnswerState>,
}

/// What the status of one order depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderFacts {
    pub cancelled_in_odoo: bool,
    /// Odoo changed the order after the supplier last answered or viewed it.
    pub changed_in_odoo: bool,
    pub acknowledged: bool,
    pub lines: Vec<LineFacts>,
}

/// The one place that decides an order's status; the most urgent fact wins.
pub fn derive_order_status(facts: &OrderFacts) -> OrderStatus {
    if facts.cancelled_in_odoo {
        return OrderStatus::Cancelled;
    }
    if facts.changed_in_odoo {
        return OrderStatus::ChangedInOdoo;
    }
    let lines = &facts.lines;
    let any = |f: &dyn Fn(&LineFacts) -> bool| lines.iter().any(f);
    let all = |f: &dyn Fn(&LineFacts) -> bool| !lines.is_empty() && lines.iter().all(f);
    if all(&|l| l.received >= l.ordered) {
        return OrderStatus::Received;
    }
    if all(&|l| l.shipped + l.received >= l.ordered) {
        return OrderStatus::Shipped;
    }
    if any(&|l| l.shipped > Decimal::ZERO || l.received > Decimal::ZERO) {
        return OrderStatus::PartiallyShipped;
    }
    let answered = |s: LineAnswerState| any(&move |l| l.answer == Some(s));
    if answered(LineAnswerState::ProposalPending) || answered(LineAnswerState::Rejected) {
        return OrderStatus::ChangesProposed;
    }
    if answered(LineAnswerState::ProposalRejected) {
        return OrderStatus::ChangesRejected;
    }
    if answered(LineAnswerState::ProposalAccepted) {
        return OrderStatus::ChangesAccepted;
    }
    if facts.acknowledged || all(&|l| l.answer.is_some()) {
        return OrderStatus::Acknowledged;
    }
    OrderStatus::New
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        /// `dec("1.5")` without pulling in the macro crate.
        pub fn dec(s: &str) -> rust_decimal::Decimal {
            s.parse().expect("test decimal")
        }
    }

    fn line(
        ordered: &str,
        received: &str,
        shipped: &str,
        answer: Option<LineAnswerState>,
    ) -> LineFacts {
        LineFacts {
            ordered: dec(ordered),
            received: dec(received),
            shipped: dec(shipped),
            answer,
        }
    }

    fn check(facts: OrderFacts, expected: OrderStatus) {
        assert_eq!(derive_order_status(&facts), expected, "{facts:?}");
    }

    fn order(acknowledged: bool, lines: Vec<LineFacts>) -> OrderFacts {
        OrderFacts {
            cancelled_in_odoo: false,
            changed_in_odoo: false,
            acknowledged,
            lines,
        }
    }

    #[test]
    fn statuses_follow_the_most_urgent_fact() {
        use LineAnswerState::*;
        check(
            order(false, vec![line("10", "0", "0", None)]),
            OrderStatus::New,
        );
        check(
            order(true, vec![line("10", "0", "0", None)]),
            OrderStatus::Acknowledged,
        );
        check(
            order(false, vec![line("10", "0", "0", Some(Accepted))]),
            OrderStatus::Acknowledged,
        );
        check(
            order(
                false,
                vec![
                    line("10", "0", "0", Some(Accepted)),
                    line("5", "0", "0", None),
                ],
            ),
            OrderStatus::New,
        );
        check(
            order(true, vec![line("10", "0", "0", Some(ProposalPending))]),
            OrderStatus::ChangesProposed,
        );
        check(
            order(true, vec![line("10", "0", "0", Some(Rejected))]),
            OrderStatus::ChangesProposed,
        );
        check(
            order(true, vec![line("10", "0", "0", Some(ProposalRejected))]),
            OrderStatus::ChangesRejected,
        );
        check(
            order(true, vec![line("10", "0", "0", Some(ProposalAccepted))]),
            OrderStatus::ChangesAccepted,
        );
        check(
            order(true, vec![line("10", "0", "4", None)]),
            OrderStatus::PartiallyShipped,
        );
        check(
            order(true, vec![line("10", "3", "7", None)]),
            OrderStatus::Shipped,
        );
        check(
            order(
                true,
                vec![line("10", "10", "0", None), line("2", "2", "0", None)],
            ),
            OrderStatus::Received,
        );
        let mut changed = order(true, vec![line("10", "10", "0", None)]);
        changed.changed_in_odoo = true;
        check(changed.clone(), OrderStatus::ChangedInOdoo);
        changed.cancelled_in_odoo = true;
        check(changed, OrderStatus::Cancelled);
    }

    #[test]
    fn codes_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(OrderStatus::from_code("nope"), None);
    }
}

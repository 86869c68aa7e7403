//! An order's timeline: which party each recorded event belongs to (so a buyer can look
//! at one thread of it), and which events are the supplier's to see.

/// Who or what an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventGroup {
    /// Read from Odoo: released, changed, withdrawn.
    Odoo,
    /// The supplier's answers, notices and documents, and views.
    Supplier,
    /// The buyer's decisions in the portal.
    Buyer,
    /// Write-backs to Odoo: delivered, failed attempts, conflicts.
    Delivery,
    /// Receipts validated in Odoo and what they showed against the notices.
    Receipt,
}

impl EventGroup {
    pub const ALL: [EventGroup; 5] = [
        EventGroup::Odoo,
        EventGroup::Supplier,
        EventGroup::Buyer,
        EventGroup::Delivery,
        EventGroup::Receipt,
    ];

    /// What an event kind (as stored in `order_events.kind`) belongs to; kinds this
    /// version does not know count as Odoo's (they are read from it).
    pub fn of(kind: &str) -> Self {
        match kind {
            "viewed" | "acknowledged" | "line_answered" | "shipment_announced"
            | "shipment_cancelled" | "document_attached" | "reference_set" => EventGroup::Supplier,
            "proposal_approved" | "proposal_rejected" | "conflict_resolved" => EventGroup::Buyer,
            "delivered_to_odoo" | "delivery_failed" | "conflict" => EventGroup::Delivery,
            "received" | "discrepancy" => EventGroup::Receipt,
            _ => EventGroup::Odoo,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            EventGroup::Odoo => "odoo",
            EventGroup::Supplier => "supplier",
            EventGroup::Buyer => "buyer",
            EventGroup::Delivery => "delivery",
            EventGroup::Receipt => "receipt",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            EventGroup::Odoo => "From Odoo",
            EventGroup::Supplier => "Supplier",
            EventGroup::Buyer => "Buyer's decisions",
            EventGroup::Delivery => "Deliveries to Odoo",
            EventGroup::Receipt => "Receipts",
        }
    }
}

/// Whether a supplier sees the event: its own part of the order, the buyer's decisions
/// and what Odoo did to the order, but not each failed delivery attempt (Odoo's errors are
/// the buyer's system's business; the order page says whether its answers arrived) nor
/// when the buyer's staff looked at the order.
pub fn visible_to_supplier(kind: &str, actor_is_staff: bool) -> bool {
    match kind {
        "delivery_failed" => false,
        "viewed" => !actor_is_staff,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recorded_kind_has_its_group_and_codes_round_trip() {
        for (kind, group) in [
            ("released", EventGroup::Odoo),
            ("updated_in_odoo", EventGroup::Odoo),
            ("changed_in_odoo", EventGroup::Odoo),
            ("withdrawn_in_odoo", EventGroup::Odoo),
            ("viewed", EventGroup::Supplier),
            ("acknowledged", EventGroup::Supplier),
            ("line_answered", EventGroup::Supplier),
            ("shipment_announced", EventGroup::Supplier),
            ("shipment_cancelled", EventGroup::Supplier),
            ("document_attached", EventGroup::Supplier),
            ("reference_set", EventGroup::Supplier),
            ("proposal_approved", EventGroup::Buyer),
            ("proposal_rejected", EventGroup::Buyer),
            ("conflict_resolved", EventGroup::Buyer),
            ("delivered_to_odoo", EventGroup::Delivery),
            ("delivery_failed", EventGroup::Delivery),
            ("conflict", EventGroup::Delivery),
            ("received", EventGroup::Receipt),
            ("discrepancy", EventGroup::Receipt),
        ] {
            assert_eq!(EventGroup::of(kind), group, "{kind}");
        }
        for g in EventGroup::ALL {
            assert_eq!(EventGroup::from_code(g.code()), Some(g));
        }
        assert_eq!(EventGroup::from_code("everything"), None);
    }

    #[test]
    fn a_supplier_sees_its_part_but_not_failed_attempts_or_staff_views() {
        assert!(visible_to_supplier("acknowledged", false));
        assert!(visible_to_supplier("conflict_resolved", true));
        assert!(visible_to_supplier("delivered_to_odoo", false));
        assert!(visible_to_supplier("viewed", false));
        assert!(!visible_to_supplier("viewed", true));
        assert!(!visible_to_supplier("delivery_failed", false));
    }
}

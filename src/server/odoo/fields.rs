//! Every Odoo model and field the portal reads or writes, in one place: which are required
//! (the portal cannot work without them, and why) and which are optional (what is lost, and
//! the fallback), and what one connected Odoo has of them ([`Capabilities`], learnt at
//! connect time with `fields_get`, never assumed from the version).
//!
//! Module facts (which module adds a field) come from the recordings in shared/odoo-wire:
//! `fields/` (19.0 without `stock_delivery`), `v17/fields/` (17.0 with it) and
//! `v17/fields/DIFF-vs-19.md` (the defining module of each 17-only field).

use std::collections::{BTreeMap, BTreeSet};

/// Model names.
pub const PURCHASE_ORDER: &str = "purchase.order";
pub const PURCHASE_ORDER_LINE: &str = "purchase.order.line";
pub const PARTNER: &str = "res.partner";
pub const USERS: &str = "res.users";
pub const PRODUCT: &str = "product.product";
pub const SUPPLIER_INFO: &str = "product.supplierinfo";
pub const MAIL_MESSAGE: &str = "mail.message";
pub const PICKING: &str = "stock.picking";
pub const STOCK_MOVE: &str = "stock.move";
pub const STOCK_MOVE_LINE: &str = "stock.move.line";
pub const UOM: &str = "uom.uom";
pub const ATTACHMENT: &str = "ir.attachment";
pub const MODULE: &str = "ir.module.module";
pub const COMPANY: &str = "res.company";
pub const WAREHOUSE: &str = "stock.warehouse";
pub const PICKING_TYPE: &str = "stock.picking.type";
pub const ORDERPOINT: &str = "stock.warehouse.orderpoint";

/// What the portal does without an optional part of Odoo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Optional {
    /// `purchase.order.acknowledged` (Odoo 19's purchase; not on 17).
    AcknowledgedFlag,
    /// Receipts: `stock` and `purchase_stock` (pickings, moves, move lines, product tracking).
    Receipts,
    /// `stock.picking.carrier_tracking_ref` (`stock_delivery`; `delivery` before 17).
    TrackingReference,
    /// The ordering company: `purchase.order.company_id` and the company's address.
    Company,
    /// Where goods go: the warehouse of the order's receipt type (`purchase_stock`'s
    /// `picking_type_id`, `stock.picking.type.warehouse_id`, the warehouse's address).
    ShipToWarehouse,
    /// `purchase.order.dest_address_id`, the drop-ship address (purchase).
    DropShipAddress,
    /// Street, postcode, country and VAT of contacts (base).
    Addresses,
    /// The buyer's e-mail and phone (`res.users`, from its partner).
    BuyerContact,
    /// `purchase.order.payment_term_id` (purchase, with account).
    PaymentTerms,
    /// `purchase.order.incoterm_id` (purchase).
    Incoterm,
    /// `purchase.order.incoterm_location` (purchase_stock).
    IncotermLocation,
    /// `purchase.order.partner_ref`, the vendor's own reference (purchase).
    VendorReference,
    /// The order's terms and conditions: `note` (19) or `notes` (17).
    OrderNotes,
    /// `amount_untaxed` and `amount_tax` (purchase).
    Taxes,
    /// Reordering rules (`stock.warehouse.orderpoint`, stock): approved forecasts align them.
    Replenishment,
    /// `stock.warehouse.orderpoint.qty_to_order_manual` (Odoo 18+; not on 17).
    ManualOrderQuantity,
    /// `product.product.qty_available` per warehouse (stock): on-hand in the supply export.
    OnHand,
}

impl Optional {
    pub const ALL: [Optional; 17] = [
        Optional::AcknowledgedFlag,
        Optional::Receipts,
        Optional::TrackingReference,
        Optional::Company,
        Optional::ShipToWarehouse,
        Optional::DropShipAddress,
        Optional::Addresses,
        Optional::BuyerContact,
        Optional::PaymentTerms,
        Optional::Incoterm,
        Optional::IncotermLocation,
        Optional::VendorReference,
        Optional::OrderNotes,
        Optional::Taxes,
        Optional::Replenishment,
        Optional::ManualOrderQuantity,
        Optional::OnHand,
    ];

    /// The Odoo modules that bring it, for messages.
    pub fn modules(self) -> &'static str {
        match self {
            Optional::AcknowledgedFlag => "purchase (Odoo 19)",
            Optional::Receipts => "stock + purchase_stock (Inventory)",
            Optional::TrackingReference => "stock_delivery",
            Optional::Company | Optional::Addresses | Optional::BuyerContact => "base",
            Optional::ShipToWarehouse | Optional::IncotermLocation => {
                "stock + purchase_stock (Inventory)"
            }
            Optional::DropShipAddress
            | Optional::Incoterm
            | Optional::VendorReference
            | Optional::OrderNotes
            | Optional::Taxes => "purchase",
            Optional::PaymentTerms => "purchase + account",
            Optional::Replenishment | Optional::ManualOrderQuantity | Optional::OnHand => {
                "stock (Inventory)"
            }
        }
    }

    /// What is lost without it, and what the portal does instead.
    pub fn loss(self) -> &'static str {
        match self {
            Optional::AcknowledgedFlag => {
                "acknowledgments are kept in the portal and posted as a note in the order's chatter; Odoo's 'Acknowledged' box is not ticked"
            }
            Optional::Receipts => {
                "receipts are not read (no received quantities by lot, no receipt discrepancies); shipment notices stay in the portal and reach Odoo as a note in the order's chatter instead of prefilling a receipt; documents are attached to the order; lots and serials are not asked for"
            }
            Optional::TrackingReference => {
                "the tracking number goes into a note in the receipt's chatter instead of its Tracking Reference field"
            }
            Optional::Company => {
                "the order does not say which company buys (no company filter; the order document names no buying entity)"
            }
            Optional::ShipToWarehouse => {
                "the ship-to is the drop-ship address when the order has one, else the ordering company's address; plants cannot be told apart"
            }
            Optional::DropShipAddress => "drop-ship addresses are not shown; goods go to the warehouse or the company",
            Optional::Addresses => "addresses show the name and city only, without VAT",
            Optional::BuyerContact => "the buyer is shown by name only, without e-mail and phone",
            Optional::PaymentTerms => "payment terms are shown as not set",
            Optional::Incoterm => "the incoterm is shown as not set",
            Optional::IncotermLocation => "the incoterm's location is shown as not set",
            Optional::VendorReference => "the supplier's own reference is neither shown nor sent to Odoo",
            Optional::OrderNotes => "the order's terms and conditions are not shown",
            Optional::Taxes => "only the order's total is shown, without the untaxed amount and taxes",
            Optional::Replenishment => {
                "approved forecasts are not pushed into reordering rules; their signals wait in the portal"
            }
            Optional::ManualOrderQuantity => {
                "reordering rules get min and max only, not the forecast's recommended quantity to order"
            }
            Optional::OnHand => {
                "the supply offered to the planning platform has no on-hand rows"
            }
        }
    }
}

/// Whether the portal can run without a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The portal cannot work without it; the text says what breaks.
    Required(&'static str),
    Optional(Optional),
}

/// One field the portal uses. `names` are the alternatives across versions (the first one
/// present is used), e.g. the order line's unit: `product_uom_id` (19) or `product_uom` (17, 18).
#[derive(Clone, Copy, Debug)]
pub struct FieldUse {
    pub model: &'static str,
    pub names: &'static [&'static str],
    pub need: Need,
}

const ORDERS: &str = "purchase orders cannot be read";
const LINES: &str = "order lines cannot be read or answered";
const VENDORS: &str = "vendors cannot be linked to supplier organisations";
const PRODUCTS: &str = "order lines cannot show their product";
const CODES: &str = "suppliers cannot see their own product codes";
const NOTES: &str =
    "notes cannot be posted once (the portal looks for its own note before posting)";
const DOCUMENTS: &str = "documents cannot be attached in Odoo";
const USER: &str = "the API key cannot be matched to the login";

macro_rules! uses {
    ($($model:expr => [$($name:expr),+ $(,)?] : $need:expr;)*) => {
        &[$(FieldUse { model: $model, names: &[$($name),+], need: $need }),*]
    };
}

use Need::Required as R;
// The order header a supplier works from: every part optional, shown as not set without it.
use Need::Optional as O;
use Optional::*;

/// Every field the portal reads or writes.
pub static USES: &[FieldUse] = uses! {
    PURCHASE_ORDER => ["name"]: R(ORDERS);
    PURCHASE_ORDER => ["partner_id"]: R(ORDERS);
    PURCHASE_ORDER => ["state"]: R(ORDERS);
    PURCHASE_ORDER => ["date_order"]: R(ORDERS);
    PURCHASE_ORDER => ["date_approve"]: R(ORDERS);
    PURCHASE_ORDER => ["currency_id"]: R(ORDERS);
    PURCHASE_ORDER => ["amount_total"]: R(ORDERS);
    PURCHASE_ORDER => ["user_id"]: R(ORDERS);
    PURCHASE_ORDER => ["order_line"]: R(ORDERS);
    PURCHASE_ORDER => ["write_date"]: R("changes cannot be polled");
    PURCHASE_ORDER => ["origin"]: R("orders cannot be traced back to demand signals");
    PURCHASE_ORDER => ["acknowledged"]: Need::Optional(AcknowledgedFlag);
    PURCHASE_ORDER => ["company_id"]: O(Company);
    PURCHASE_ORDER => ["picking_type_id"]: O(ShipToWarehouse);
    PURCHASE_ORDER => ["dest_address_id"]: O(DropShipAddress);
    PURCHASE_ORDER => ["payment_term_id"]: O(PaymentTerms);
    PURCHASE_ORDER => ["incoterm_id"]: O(Incoterm);
    PURCHASE_ORDER => ["incoterm_location"]: O(IncotermLocation);
    PURCHASE_ORDER => ["partner_ref"]: O(VendorReference);
    PURCHASE_ORDER => ["note", "notes"]: O(OrderNotes);
    PURCHASE_ORDER => ["amount_untaxed"]: O(Taxes);
    PURCHASE_ORDER => ["amount_tax"]: O(Taxes);
    PURCHASE_ORDER_LINE => ["order_id"]: R(LINES);
    PURCHASE_ORDER_LINE => ["sequence"]: R(LINES);
    PURCHASE_ORDER_LINE => ["display_type"]: R(LINES);
    PURCHASE_ORDER_LINE => ["name"]: R(LINES);
    PURCHASE_ORDER_LINE => ["product_id"]: R(LINES);
    PURCHASE_ORDER_LINE => ["product_qty"]: R(LINES);
    PURCHASE_ORDER_LINE => ["product_uom_id", "product_uom"]: R(LINES);
    PURCHASE_ORDER_LINE => ["price_unit"]: R(LINES);
    PURCHASE_ORDER_LINE => ["date_planned"]: R("delivery dates cannot be read or moved");
    PURCHASE_ORDER_LINE => ["qty_received"]: R("open quantities cannot be computed");
    PURCHASE_ORDER_LINE => ["write_date"]: R(LINES);
    PARTNER => ["name"]: R(VENDORS);
    PARTNER => ["commercial_partner_id"]: R(VENDORS);
    PARTNER => ["supplier_rank"]: R(VENDORS);
    PARTNER => ["email"]: R(VENDORS);
    PARTNER => ["city"]: R(VENDORS);
    PARTNER => ["is_company"]: R(VENDORS);
    PARTNER => ["street"]: O(Addresses);
    PARTNER => ["street2"]: O(Addresses);
    PARTNER => ["zip"]: O(Addresses);
    PARTNER => ["country_id"]: O(Addresses);
    PARTNER => ["vat"]: O(Addresses);
    USERS => ["login"]: R(USER);
    USERS => ["name"]: R(USER);
    USERS => ["email"]: O(BuyerContact);
    USERS => ["phone"]: O(BuyerContact);
    COMPANY => ["name"]: O(Company);
    COMPANY => ["street"]: O(Company);
    COMPANY => ["street2"]: O(Company);
    COMPANY => ["zip"]: O(Company);
    COMPANY => ["city"]: O(Company);
    COMPANY => ["country_id"]: O(Company);
    COMPANY => ["vat"]: O(Company);
    PICKING_TYPE => ["warehouse_id"]: O(ShipToWarehouse);
    WAREHOUSE => ["name"]: O(ShipToWarehouse);
    WAREHOUSE => ["partner_id"]: O(ShipToWarehouse);
    WAREHOUSE => ["in_type_id"]: O(ShipToWarehouse);
    PRODUCT => ["name"]: R(PRODUCTS);
    PRODUCT => ["default_code"]: R(PRODUCTS);
    PRODUCT => ["uom_id"]: R(PRODUCTS);
    PRODUCT => ["tracking"]: Need::Optional(Receipts);
    SUPPLIER_INFO => ["partner_id"]: R(CODES);
    SUPPLIER_INFO => ["product_id"]: R(CODES);
    SUPPLIER_INFO => ["product_code"]: R(CODES);
    SUPPLIER_INFO => ["product_name"]: R(CODES);
    SUPPLIER_INFO => ["min_qty"]: R(CODES);
    SUPPLIER_INFO => ["price"]: R(CODES);
    SUPPLIER_INFO => ["delay"]: R(CODES);
    SUPPLIER_INFO => ["product_tmpl_id"]: R(CODES);
    SUPPLIER_INFO => ["sequence"]: R(CODES);
    PRODUCT => ["product_tmpl_id"]: R(PRODUCTS);
    UOM => ["name"]: R(PRODUCTS);
    MAIL_MESSAGE => ["model"]: R(NOTES);
    MAIL_MESSAGE => ["res_id"]: R(NOTES);
    MAIL_MESSAGE => ["body"]: R(NOTES);
    ATTACHMENT => ["name"]: R(DOCUMENTS);
    ATTACHMENT => ["res_model"]: R(DOCUMENTS);
    ATTACHMENT => ["res_id"]: R(DOCUMENTS);
    ATTACHMENT => ["datas"]: R(DOCUMENTS);
    ATTACHMENT => ["mimetype"]: R(DOCUMENTS);
    ATTACHMENT => ["description"]: R(DOCUMENTS);
    PICKING => ["name"]: Need::Optional(Receipts);
    PICKING => ["state"]: Need::Optional(Receipts);
    PICKING => ["scheduled_date"]: Need::Optional(Receipts);
    PICKING => ["date_done"]: Need::Optional(Receipts);
    PICKING => ["purchase_id"]: Need::Optional(Receipts);
    PICKING => ["picking_type_code"]: Need::Optional(Receipts);
    PICKING => ["move_ids"]: Need::Optional(Receipts);
    PICKING => ["carrier_tracking_ref"]: Need::Optional(TrackingReference);
    STOCK_MOVE => ["picking_id"]: Need::Optional(Receipts);
    STOCK_MOVE => ["purchase_line_id"]: Need::Optional(Receipts);
    STOCK_MOVE => ["product_id"]: Need::Optional(Receipts);
    STOCK_MOVE => ["product_uom_qty"]: Need::Optional(Receipts);
    STOCK_MOVE => ["product_uom"]: Need::Optional(Receipts);
    STOCK_MOVE => ["move_line_ids"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["move_id"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["picking_id"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["product_id"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["product_uom_id"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["quantity"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["lot_id"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["lot_name"]: Need::Optional(Receipts);
    STOCK_MOVE_LINE => ["picked"]: Need::Optional(Receipts);
    ORDERPOINT => ["product_id"]: O(Replenishment);
    ORDERPOINT => ["warehouse_id"]: O(Replenishment);
    ORDERPOINT => ["product_min_qty"]: O(Replenishment);
    ORDERPOINT => ["product_max_qty"]: O(Replenishment);
    ORDERPOINT => ["trigger"]: O(Replenishment);
    ORDERPOINT => ["name"]: O(Replenishment);
    ORDERPOINT => ["write_date"]: O(Replenishment);
    ORDERPOINT => ["active"]: O(Replenishment);
    ORDERPOINT => ["qty_to_order_manual"]: O(ManualOrderQuantity);
    PRODUCT => ["qty_available"]: O(OnHand);
};

/// The models the portal touches, in the order `fields_get` asks them.
pub fn models() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for u in USES {
        if !out.contains(&u.model) {
            out.push(u.model);
        }
    }
    out
}

/// Modules whose presence the check names (read from `ir.module.module` where allowed).
pub const MODULES_OF_INTEREST: &[&str] = &[
    "purchase",
    "stock",
    "purchase_stock",
    "stock_delivery",
    "delivery",
    "mrp",
    "mrp_subcontracting",
];

/// One field (or model) the connected Odoo lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// `model.field`, or the model alone when the whole model is absent.
    pub what: String,
    pub need: Need,
}

/// What one connected Odoo has of what the portal uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The field names each model answered `fields_get` with (only those the portal uses).
    known: BTreeMap<&'static str, BTreeSet<&'static str>>,
    /// Installed modules among [`MODULES_OF_INTEREST`], when the integration user may read them.
    pub modules: Option<Vec<String>>,
    /// Models Odoo refused the integration user (an access right is missing, not the model).
    pub denied: Vec<&'static str>,
}

/// What `fields_get` answered for one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelAnswer {
    Fields(BTreeSet<String>),
    /// Odoo has no such model (its module is not installed).
    Absent,
    /// The integration user may not use it.
    Denied,
}

impl Capabilities {
    /// Everything the portal uses is there (tests and tools that need no detection).
    pub fn everything() -> Self {
        let mut known: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
        for u in USES {
            known.entry(u.model).or_default().insert(u.names[0]);
        }
        Self {
            known,
            modules: None,
            denied: Vec::new(),
        }
    }

    /// From what `fields_get` answered per model (`None`: the model does not exist).
    pub fn from_fields(
        answers: impl IntoIterator<Item = (&'static str, ModelAnswer)>,
        modules: Option<Vec<String>>,
    ) -> Self {
        let answers: BTreeMap<&'static str, ModelAnswer> = answers.into_iter().collect();
        let denied = answers
            .iter()
            .filter(|(_, a)| **a == ModelAnswer::Denied)
            .map(|(m, _)| *m)
            .collect();
        let mut known: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
        for u in USES {
            let Some(ModelAnswer::Fields(fields)) = answers.get(u.model) else {
                continue;
            };
            let model = known.entry(u.model).or_default();
            for n in u.names {
                if fields.contains(*n) {
                    model.insert(n);
                }
            }
        }
        Self {
            known,
            modules,
            denied,
        }
    }

    pub fn has(&self, model: &str, field: &str) -> bool {
        self.known.get(model).is_some_and(|f| f.contains(field))
    }

    /// The order's terms-and-conditions field: `note` (19) or `notes` (17), if any.
    pub fn order_notes(&self) -> Option<&'static str> {
        ["note", "notes"]
            .into_iter()
            .find(|n| self.has(PURCHASE_ORDER, n))
    }

    fn has_model(&self, model: &str) -> bool {
        self.known.contains_key(model)
    }

    /// Whether every field of an optional part is there.
    pub fn supports(&self, part: Optional) -> bool {
        USES.iter()
            .filter(|u| u.need == Need::Optional(part))
            .all(|u| u.names.iter().any(|n| self.has(u.model, n)))
            // The tracking reference lives on receipts: without them it is of no use.
            && (part != Optional::TrackingReference || self.supports(Optional::Receipts))
    }

    /// The order line's unit field: `product_uom_id` (19) or `product_uom` (17, 18).
    pub fn line_uom(&self) -> &'static str {
        if self.has(PURCHASE_ORDER_LINE, "product_uom")
            && !self.has(PURCHASE_ORDER_LINE, "product_uom_id")
        {
            "product_uom"
        } else {
            "product_uom_id"
        }
    }

    /// What is missing, required first. An absent model is one line, required when any
    /// of its fields is.
    pub fn missing(&self) -> Vec<Missing> {
        let mut out: Vec<Missing> = Vec::new();
        for model in models() {
            let uses = USES.iter().filter(|u| u.model == model);
            if !self.has_model(model) {
                let need = uses
                    .clone()
                    .map(|u| u.need)
                    .find(|n| matches!(n, Need::Required(_)))
                    .or_else(|| uses.clone().map(|u| u.need).next());
                if let Some(need) = need {
                    let what = if self.denied.contains(&model) {
                        format!("access right on {model}")
                    } else {
                        format!("model {model}")
                    };
                    out.push(Missing { what, need });
                }
                continue;
            }
            for u in uses.filter(|u| !u.names.iter().any(|n| self.has(u.model, n))) {
                out.push(Missing {
                    what: format!("field {}.{}", u.model, u.names.join(" or ")),
                    need: u.need,
                });
            }
        }
        out.sort_by_key(|m| !matches!(m.need, Need::Required(_)));
        out
    }

    pub fn required_missing(&self) -> Vec<Missing> {
        self.missing()
            .into_iter()
            .filter(|m| matches!(m.need, Need::Required(_)))
            .collect()
    }

    /// The fields of a purchase order the poller reads.
    pub fn order_fields(&self) -> Vec<&'static str> {
        self.read_fields(PURCHASE_ORDER, &[])
    }

    /// The fields of an order line the poller reads.
    pub fn line_fields(&self) -> Vec<&'static str> {
        self.read_fields(PURCHASE_ORDER_LINE, &[])
    }

    /// The fields of `model` the portal uses that this Odoo has, without `except`.
    pub fn read_fields(&self, model: &str, except: &[&str]) -> Vec<&'static str> {
        let mut out = Vec::new();
        for u in USES.iter().filter(|u| u.model == model) {
            if let Some(n) = u.names.iter().find(|n| self.has(model, n)) {
                if !except.contains(n) && !out.contains(n) {
                    out.push(*n);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(model_fields: &[(&'static str, &[&str])]) -> Capabilities {
        Capabilities::from_fields(
            models().into_iter().map(|m| {
                let found = model_fields.iter().find(|(mm, _)| *mm == m);
                (
                    m,
                    match found {
                        Some((_, f)) => {
                            ModelAnswer::Fields(f.iter().map(|s| s.to_string()).collect())
                        }
                        None => ModelAnswer::Absent,
                    },
                )
            }),
            None,
        )
    }

    fn all_of(model: &'static str) -> (&'static str, Vec<&'static str>) {
        (
            model,
            USES.iter()
                .filter(|u| u.model == model)
                .flat_map(|u| u.names.iter().copied())
                .collect(),
        )
    }

    #[test]
    fn everything_supports_every_optional_part() {
        let c = Capabilities::everything();
        assert!(Optional::ALL.iter().all(|p| c.supports(*p)));
        assert!(c.missing().is_empty());
        assert_eq!(c.line_uom(), "product_uom_id");
    }

    #[test]
    fn purchase_only_misses_only_optional_parts_and_17_names_are_found() {
        let purchase_only: Vec<(&'static str, Vec<&'static str>)> = models()
            .into_iter()
            .filter(|m| !m.starts_with("stock."))
            .map(all_of)
            .map(|(m, f)| {
                let f: Vec<&str> = f
                    .into_iter()
                    .filter(|n| !["tracking", "acknowledged", "product_uom_id"].contains(n))
                    .collect();
                (m, f)
            })
            .collect();
        let refs: Vec<(&'static str, &[&str])> = purchase_only
            .iter()
            .map(|(m, f)| (*m, f.as_slice()))
            .collect();
        let c = with(&refs);
        assert!(
            c.required_missing().is_empty(),
            "{:?}",
            c.required_missing()
        );
        assert!(!c.supports(Optional::Receipts));
        assert!(!c.supports(Optional::TrackingReference));
        assert!(!c.supports(Optional::AcknowledgedFlag));
        assert_eq!(c.line_uom(), "product_uom");
        assert!(c.line_fields().contains(&"product_uom"));
        assert!(!c.order_fields().contains(&"acknowledged"));
        let missing = c.missing();
        assert!(missing.iter().any(|m| m.what == "model stock.picking"));
        assert!(missing
            .iter()
            .any(|m| m.what == "field purchase.order.acknowledged"));
    }

    #[test]
    fn a_missing_required_field_is_reported_as_required() {
        let mut fields: Vec<(&'static str, Vec<&'static str>)> =
            models().into_iter().map(all_of).collect();
        fields[0].1.retain(|f| *f != "date_approve");
        let refs: Vec<(&'static str, &[&str])> =
            fields.iter().map(|(m, f)| (*m, f.as_slice())).collect();
        let c = with(&refs);
        let req = c.required_missing();
        assert_eq!(req.len(), 1, "{req:?}");
        assert_eq!(req[0].what, "field purchase.order.date_approve");
    }
}

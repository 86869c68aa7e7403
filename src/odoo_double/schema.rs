//! The models and fields the double knows, with Odoo 19.0 names (see shared/odoo-wire/fields),
//! and the renames older versions use on the wire.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Char,
    Text,
    Integer,
    Float,
    Boolean,
    Date,
    Datetime,
    Selection(&'static [&'static str]),
    Many2one(&'static str),
    /// (comodel, inverse many2one field on the comodel)
    One2many(&'static str, &'static str),
    Many2many(&'static str),
}

pub struct Model {
    pub name: &'static str,
    pub description: &'static str,
    pub fields: &'static [(&'static str, FieldType)],
    /// Fields that must be given at create.
    pub required: &'static [&'static str],
    /// Only users with full rights may touch it (the low-rights user gets AccessError).
    pub restricted: bool,
}

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use FieldType::*;

const PO_STATES: &[&str] = &["draft", "sent", "to approve", "purchase", "cancel"];
const PICKING_STATES: &[&str] = &[
    "draft",
    "waiting",
    "confirmed",
    "assigned",
    "done",
    "cancel",
];
const RECEIPT_STATUS: &[&str] = &["pending", "partial", "full"];
const TRACKING: &[&str] = &["serial", "lot", "none"];
const PICKING_TYPE_CODES: &[&str] = &["incoming", "outgoing", "internal"];
const MODULE_STATES: &[&str] = &[
    "uninstallable",
    "uninstalled",
    "installed",
    "to upgrade",
    "to remove",
    "to install",
];
const MESSAGE_TYPES: &[&str] = &["email", "comment", "notification", "user_notification"];
const DISPLAY_TYPES: &[&str] = &["line_section", "line_note"];
const ORDERPOINT_TRIGGERS: &[&str] = &["auto", "manual"];

pub static MODELS: &[Model] = &[
    Model {
        name: "res.partner",
        description: "Contact",
        fields: &[
            ("name", Char),
            ("display_name", Char),
            ("is_company", Boolean),
            ("supplier_rank", Integer),
            ("parent_id", Many2one("res.partner")),
            ("commercial_partner_id", Many2one("res.partner")),
            ("child_ids", One2many("res.partner", "parent_id")),
            ("email", Char),
            ("phone", Char),
            ("ref", Char),
            ("street", Char),
            ("street2", Char),
            ("zip", Char),
            ("city", Char),
            ("country_id", Many2one("res.country")),
            ("vat", Char),
            ("company_id", Many2one("res.company")),
            ("active", Boolean),
            ("create_date", Datetime),
            ("write_date", Datetime),
        ],
        required: &["name"],
        restricted: false,
    },
    Model {
        name: "res.users",
        description: "User",
        fields: &[
            ("name", Char),
            ("login", Char),
            ("partner_id", Many2one("res.partner")),
            ("tz", Char),
            // Related to the partner's in Odoo (res.users inherits res.partner): see Env::raw.
            ("email", Char),
            ("phone", Char),
            ("company_id", Many2one("res.company")),
            ("company_ids", Many2many("res.company")),
            ("write_date", Datetime),
        ],
        required: &["login"],
        restricted: false,
    },
    Model {
        name: "res.company",
        description: "Companies",
        fields: &[
            ("name", Char),
            ("partner_id", Many2one("res.partner")),
            ("street", Char),
            ("street2", Char),
            ("zip", Char),
            ("city", Char),
            ("country_id", Many2one("res.country")),
            ("vat", Char),
            ("email", Char),
            ("phone", Char),
            ("write_date", Datetime),
        ],
        required: &["name"],
        restricted: false,
    },
    // Not recorded: the comodel of res.partner.country_id and res.company.country_id in the
    // recorded fields; `name` and `code` as odoo/addons/base/models/res_country.py defines them.
    Model {
        name: "res.country",
        description: "Country",
        fields: &[("name", Char), ("code", Char)],
        required: &["name"],
        restricted: false,
    },
    // Not recorded: the comodel of purchase.order.payment_term_id in the recorded fields;
    // `name` as addons/account/models/account_payment_term.py defines it.
    Model {
        name: "account.payment.term",
        description: "Payment Terms",
        fields: &[("name", Char)],
        required: &["name"],
        restricted: false,
    },
    // Not recorded: the comodel of purchase.order.incoterm_id in the recorded fields; `code`
    // and `name` as addons/account/models/account_incoterms.py defines them.
    Model {
        name: "account.incoterms",
        description: "Incoterms",
        fields: &[("name", Char), ("code", Char)],
        required: &["name", "code"],
        restricted: false,
    },
    Model {
        name: "res.currency",
        description: "Currency",
        fields: &[("name", Char), ("symbol", Char), ("write_date", Datetime)],
        required: &["name"],
        restricted: false,
    },
    Model {
        name: "uom.uom",
        description: "Product Unit of Measure",
        fields: &[
            ("name", Char),
            ("relative_factor", Float),
            ("relative_uom_id", Many2one("uom.uom")),
            ("active", Boolean),
            ("write_date", Datetime),
        ],
        required: &["name"],
        restricted: false,
    },
    Model {
        name: "product.product",
        description: "Product Variant",
        fields: &[
            ("name", Char),
            ("display_name", Char),
            ("default_code", Char),
            ("uom_id", Many2one("uom.uom")),
            ("tracking", Selection(TRACKING)),
            ("is_storable", Boolean),
            ("purchase_ok", Boolean),
            ("active", Boolean),
            ("seller_ids", One2many("product.supplierinfo", "product_id")),
            ("write_date", Datetime),
        ],
        required: &["name"],
        restricted: false,
    },
    Model {
        name: "product.supplierinfo",
        description: "Supplier Pricelist",
        fields: &[
            ("partner_id", Many2one("res.partner")),
            ("product_id", Many2one("product.product")),
            ("product_name", Char),
            ("product_code", Char),
            ("min_qty", Float),
            ("price", Float),
            ("delay", Integer),
            ("product_uom_id", Many2one("uom.uom")),
            ("currency_id", Many2one("res.currency")),
            ("write_date", Datetime),
        ],
        required: &["partner_id"],
        restricted: false,
    },
    Model {
        name: "purchase.order",
        description: "Purchase Order",
        fields: &[
            ("name", Char),
            ("display_name", Char),
            ("partner_id", Many2one("res.partner")),
            ("partner_ref", Char),
            ("state", Selection(PO_STATES)),
            ("locked", Boolean),
            ("acknowledged", Boolean),
            ("date_order", Datetime),
            ("date_approve", Datetime),
            ("date_planned", Datetime),
            ("currency_id", Many2one("res.currency")),
            ("amount_untaxed", Float),
            ("amount_tax", Float),
            ("amount_total", Float),
            ("order_line", One2many("purchase.order.line", "order_id")),
            ("picking_ids", One2many("stock.picking", "purchase_id")),
            ("receipt_status", Selection(RECEIPT_STATUS)),
            ("user_id", Many2one("res.users")),
            ("origin", Char),
            ("note", Text),
            ("company_id", Many2one("res.company")),
            ("picking_type_id", Many2one("stock.picking.type")),
            ("dest_address_id", Many2one("res.partner")),
            ("payment_term_id", Many2one("account.payment.term")),
            ("incoterm_id", Many2one("account.incoterms")),
            ("incoterm_location", Char),
            ("create_date", Datetime),
            ("write_date", Datetime),
        ],
        required: &["partner_id"],
        restricted: true,
    },
    Model {
        name: "purchase.order.line",
        description: "Purchase Order Line",
        fields: &[
            ("order_id", Many2one("purchase.order")),
            ("sequence", Integer),
            ("display_type", Selection(DISPLAY_TYPES)),
            ("name", Text),
            ("product_id", Many2one("product.product")),
            ("product_qty", Float),
            ("product_uom_id", Many2one("uom.uom")),
            ("price_unit", Float),
            ("price_subtotal", Float),
            ("date_planned", Datetime),
            ("qty_received", Float),
            ("partner_id", Many2one("res.partner")),
            ("move_ids", One2many("stock.move", "purchase_line_id")),
            ("create_date", Datetime),
            ("write_date", Datetime),
        ],
        required: &["order_id"],
        restricted: true,
    },
    Model {
        name: "stock.picking",
        description: "Transfer",
        fields: &[
            ("name", Char),
            ("partner_id", Many2one("res.partner")),
            ("origin", Char),
            ("scheduled_date", Datetime),
            ("date_done", Datetime),
            ("state", Selection(PICKING_STATES)),
            ("purchase_id", Many2one("purchase.order")),
            ("picking_type_code", Selection(PICKING_TYPE_CODES)),
            ("picking_type_id", Many2one("stock.picking.type")),
            ("move_ids", One2many("stock.move", "picking_id")),
            ("move_line_ids", One2many("stock.move.line", "picking_id")),
            ("carrier_tracking_ref", Char),
            ("note", Text),
            ("write_date", Datetime),
        ],
        required: &[],
        restricted: true,
    },
    Model {
        name: "stock.move",
        description: "Stock Move",
        fields: &[
            ("name", Char),
            ("picking_id", Many2one("stock.picking")),
            ("product_id", Many2one("product.product")),
            ("product_uom_qty", Float),
            ("quantity", Float),
            ("product_uom", Many2one("uom.uom")),
            ("state", Selection(PICKING_STATES)),
            ("purchase_line_id", Many2one("purchase.order.line")),
            ("picked", Boolean),
            ("move_line_ids", One2many("stock.move.line", "move_id")),
            ("date", Datetime),
            ("write_date", Datetime),
        ],
        required: &["product_id"],
        restricted: true,
    },
    Model {
        name: "stock.move.line",
        description: "Product Moves (Stock Move Line)",
        fields: &[
            ("move_id", Many2one("stock.move")),
            ("picking_id", Many2one("stock.picking")),
            ("product_id", Many2one("product.product")),
            ("quantity", Float),
            ("lot_id", Many2one("stock.lot")),
            ("lot_name", Char),
            ("picked", Boolean),
            ("product_uom_id", Many2one("uom.uom")),
            ("write_date", Datetime),
        ],
        required: &["product_id"],
        restricted: true,
    },
    Model {
        name: "stock.lot",
        description: "Lot/Serial",
        fields: &[
            ("name", Char),
            ("product_id", Many2one("product.product")),
            ("write_date", Datetime),
        ],
        required: &["name", "product_id"],
        restricted: true,
    },
    Model {
        name: "mail.message",
        description: "Message",
        fields: &[
            ("model", Char),
            ("res_id", Integer),
            ("body", Text),
            ("message_type", Selection(MESSAGE_TYPES)),
            ("author_id", Many2one("res.partner")),
            ("date", Datetime),
            ("write_date", Datetime),
        ],
        required: &[],
        restricted: false,
    },
    // Not in the recorded field lists: its fields are the columns of the recorded module
    // lists (VERSION.json: name, shortdesc, installed_version) and `state`
    // (odoo/addons/base/models/ir_module.py), which every client filters installed ones by.
    Model {
        name: "ir.module.module",
        description: "Module",
        fields: &[
            ("name", Char),
            ("shortdesc", Char),
            ("installed_version", Char),
            ("state", Selection(MODULE_STATES)),
        ],
        required: &["name"],
        restricted: false,
    },
    // Odoo 17 only (v17/jsonrpc/80); gone in 19 (fields/uom.category.MISSING.json).
    Model {
        name: "uom.category",
        description: "Product UoM Categories",
        fields: &[("name", Char)],
        required: &["name"],
        restricted: false,
    },
    Model {
        name: "stock.picking.type",
        description: "Picking Type",
        fields: &[
            ("name", Char),
            ("code", Selection(PICKING_TYPE_CODES)),
            ("warehouse_id", Many2one("stock.warehouse")),
            ("company_id", Many2one("res.company")),
        ],
        required: &["name"],
        restricted: true,
    },
    Model {
        name: "stock.warehouse",
        description: "Warehouse",
        fields: &[
            ("name", Char),
            ("code", Char),
            ("company_id", Many2one("res.company")),
            ("partner_id", Many2one("res.partner")),
            ("in_type_id", Many2one("stock.picking.type")),
            ("write_date", Datetime),
        ],
        required: &["name", "code"],
        restricted: true,
    },
    // Reordering rules (demand planning's push): 19's `qty_to_order_manual`, 17's
    // `qty_multiple` (required there, default 1); `location_id` is left out (the double has
    // no stock.location: Odoo defaults it from the warehouse, as jsonrpc/75's create shows).
    Model {
        name: "stock.warehouse.orderpoint",
        description: "Minimum Inventory Rule",
        fields: &[
            ("name", Char),
            ("product_id", Many2one("product.product")),
            ("warehouse_id", Many2one("stock.warehouse")),
            ("company_id", Many2one("res.company")),
            ("product_min_qty", Float),
            ("product_max_qty", Float),
            ("trigger", Selection(ORDERPOINT_TRIGGERS)),
            ("qty_to_order_manual", Float),
            ("qty_multiple", Float),
            ("active", Boolean),
            ("create_date", Datetime),
            ("write_date", Datetime),
        ],
        required: &["product_id"],
        restricted: true,
    },
    Model {
        name: "ir.attachment",
        description: "Attachment",
        fields: &[
            ("name", Char),
            ("res_model", Char),
            ("res_id", Integer),
            ("datas", Char),
            ("mimetype", Char),
            ("file_size", Integer),
            ("write_date", Datetime),
        ],
        required: &["name"],
        restricted: false,
    },
];

pub fn model(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.name == name)
}

// ---------------------------------------------------------------- what the wire accepts

/// Which optional modules the double presents. Purchase (with its dependencies: account,
/// mail, product, uom) is always there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Modules {
    /// Inventory: `stock` and `purchase_stock` (receipts, moves, lots, product tracking).
    pub stock: bool,
    /// `stock_delivery` (`delivery` on 17): the carrier fields, `carrier_tracking_ref`.
    pub delivery: bool,
}

impl Modules {
    pub const PURCHASE: Modules = Modules {
        stock: false,
        delivery: false,
    };
    pub const PURCHASE_STOCK: Modules = Modules {
        stock: true,
        delivery: false,
    };
    pub const PURCHASE_STOCK_DELIVERY: Modules = Modules {
        stock: true,
        delivery: true,
    };

    /// The set the recordings of `version` were made with: 19 without stock_delivery,
    /// 17 with it (18 is not recorded: like 19).
    pub fn recorded(version: u8) -> Modules {
        if version == 17 {
            Self::PURCHASE_STOCK_DELIVERY
        } else {
            Self::PURCHASE_STOCK
        }
    }

    /// `purchase`, `purchase,stock` or `purchase,stock,stock_delivery`.
    pub fn parse(s: &str) -> Result<Modules, String> {
        let mut names: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_unstable();
        match names.as_slice() {
            ["purchase"] => Ok(Self::PURCHASE),
            ["purchase", "stock"] => Ok(Self::PURCHASE_STOCK),
            ["purchase", "stock", "stock_delivery"] => Ok(Self::PURCHASE_STOCK_DELIVERY),
            _ => Err(format!(
                "unknown module set '{s}': use purchase, purchase,stock or purchase,stock,stock_delivery"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match (self.stock, self.delivery) {
            (false, _) => "purchase",
            (true, false) => "purchase,stock",
            (true, true) => "purchase,stock,stock_delivery",
        }
    }
}

/// `fields_get` of each model as recorded from a real Odoo (shared/odoo-wire/fields for
/// 19.0, shared/odoo-wire/v17/fields for 17.0).
const RECORDED_19: &[(&str, &str)] = &[
    ("res.partner", include_str!("fields/res.partner.json")),
    ("res.users", include_str!("fields/res.users.json")),
    ("res.currency", include_str!("fields/res.currency.json")),
    ("res.company", include_str!("fields/res.company.json")),
    ("uom.uom", include_str!("fields/uom.uom.json")),
    (
        "product.product",
        include_str!("fields/product.product.json"),
    ),
    (
        "product.supplierinfo",
        include_str!("fields/product.supplierinfo.json"),
    ),
    ("purchase.order", include_str!("fields/purchase.order.json")),
    (
        "purchase.order.line",
        include_str!("fields/purchase.order.line.json"),
    ),
    ("stock.picking", include_str!("fields/stock.picking.json")),
    ("stock.move", include_str!("fields/stock.move.json")),
    (
        "stock.move.line",
        include_str!("fields/stock.move.line.json"),
    ),
    ("stock.lot", include_str!("fields/stock.lot.json")),
    (
        "stock.warehouse",
        include_str!("fields/stock.warehouse.json"),
    ),
    (
        "stock.picking.type",
        include_str!("fields/stock.picking.type.json"),
    ),
    (
        "stock.warehouse.orderpoint",
        include_str!("fields/stock.warehouse.orderpoint.json"),
    ),
    ("mail.message", include_str!("fields/mail.message.json")),
    ("ir.attachment", include_str!("fields/ir.attachment.json")),
];

/// The 17.0 recordings. res.users, res.currency, res.company and stock.picking.type were
/// not recorded on 17: the 19 lists stand in for them (the portal reads only `login`,
/// `name`, `email`, `phone`, `symbol`, the company's name, address and VAT, and the type's
/// `warehouse_id`, fields both versions define in base and stock).
const RECORDED_17: &[(&str, &str)] = &[
    ("res.partner", include_str!("fields/v17/res.partner.json")),
    ("uom.uom", include_str!("fields/v17/uom.uom.json")),
    ("uom.category", include_str!("fields/v17/uom.category.json")),
    (
        "product.product",
        include_str!("fields/v17/product.product.json"),
    ),
    (
        "product.supplierinfo",
        include_str!("fields/v17/product.supplierinfo.json"),
    ),
    (
        "purchase.order",
        include_str!("fields/v17/purchase.order.json"),
    ),
    (
        "purchase.order.line",
        include_str!("fields/v17/purchase.order.line.json"),
    ),
    (
        "stock.picking",
        include_str!("fields/v17/stock.picking.json"),
    ),
    ("stock.move", include_str!("fields/v17/stock.move.json")),
    (
        "stock.move.line",
        include_str!("fields/v17/stock.move.line.json"),
    ),
    ("stock.lot", include_str!("fields/v17/stock.lot.json")),
    (
        "stock.warehouse",
        include_str!("fields/v17/stock.warehouse.json"),
    ),
    (
        "stock.warehouse.orderpoint",
        include_str!("fields/v17/stock.warehouse.orderpoint.json"),
    ),
    ("mail.message", include_str!("fields/v17/mail.message.json")),
    (
        "ir.attachment",
        include_str!("fields/v17/ir.attachment.json"),
    ),
];

/// The installed modules recorded with each set (VERSION.json).
pub const MODULES_19: &str = include_str!("fields/VERSION.json");
pub const MODULES_17: &str = include_str!("fields/v17/VERSION.json");

/// Fields `stock_delivery` adds, as the 17.0 server defines them (v17/fields/DIFF-vs-19.md
/// names `stock_delivery` as their module; Odoo 19's stock_delivery declares the same ones).
/// Added to 18/19 when the set has delivery, removed from 17 when it has not.
const DELIVERY_FIELDS: &[(&str, &[&str])] = &[
    (
        "stock.picking",
        &[
            "carrier_id",
            "carrier_price",
            "carrier_tracking_ref",
            "carrier_tracking_url",
            "delivery_type",
            "destination_country_code",
            "is_return_picking",
            "package_ids",
            "return_label_ids",
            "weight",
            "weight_uom_name",
        ],
    ),
    ("stock.move", &["weight"]),
    (
        "stock.move.line",
        &["carrier_id", "destination_country_code", "sale_price"],
    ),
    ("product.product", &["country_of_origin", "hs_code"]),
];

/// Models of Inventory (`stock`), absent without it.
const STOCK_MODELS: &[&str] = &[
    "stock.picking",
    "stock.move",
    "stock.move.line",
    "stock.lot",
    "stock.picking.type",
    "stock.warehouse",
    "stock.warehouse.orderpoint",
];

/// Fields `stock` and `purchase_stock` add to the purchase and product models
/// (odoo/odoo addons/purchase_stock/models/purchase_order.py and purchase_order_line.py,
/// addons/stock/models/product.py and res_partner.py), removed without Inventory. Fields
/// the portal never touches may stay as recorded. Of the order's header, the recorded
/// json2/doc/purchase.order.json names `purchase_stock` as the module of
/// `incoterm_location` and `picking_type_id`, and `purchase` as that of `dest_address_id`
/// (which stays).
const STOCK_FIELDS: &[(&str, &[&str])] = &[
    (
        "purchase.order",
        &[
            "incoterm_location",
            "incoming_picking_count",
            "picking_ids",
            "picking_type_id",
            "default_location_dest_id_usage",
            "group_id",
            "reference_ids",
            "is_shipped",
            "effective_date",
            "on_time_rate",
            "receipt_status",
        ],
    ),
    (
        "purchase.order.line",
        &[
            "move_ids",
            "move_dest_ids",
            "orderpoint_id",
            "propagate_cancel",
            "forecasted_issue",
            "location_final_id",
            "product_description_variants",
            "group_id",
        ],
    ),
    (
        "product.product",
        &[
            "tracking",
            "is_storable",
            "qty_available",
            "virtual_available",
            "incoming_qty",
            "outgoing_qty",
            "free_qty",
            "route_ids",
            "stock_move_ids",
            "stock_quant_ids",
            "nbr_reordering_rules",
            "reordering_min_qty",
            "reordering_max_qty",
        ],
    ),
    (
        "res.partner",
        &[
            "picking_warn",
            "picking_warn_msg",
            "property_stock_customer",
            "property_stock_supplier",
        ],
    ),
];

/// Field names as an older Odoo presents them: (model, name in 19.0, older name).
pub const RENAMES_BEFORE_19: &[(&str, &str, &str)] = &[
    ("purchase.order.line", "product_uom_id", "product_uom"),
    ("purchase.order.line", "tax_ids", "taxes_id"),
    ("product.supplierinfo", "product_uom_id", "product_uom"),
    // v17/fields/DIFF-vs-19.md: `notes` only in 17, `note` only in 19, both "Terms and Conditions".
    ("purchase.order", "note", "notes"),
];

fn parse_type(f: &serde_json::Value) -> FieldType {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let relation = f
        .get("relation")
        .and_then(|r| r.as_str())
        .map(leak)
        .unwrap_or("");
    match f.get("type").and_then(|t| t.as_str()).unwrap_or("char") {
        "integer" => Integer,
        "float" | "monetary" => Float,
        "boolean" => Boolean,
        "date" => Date,
        "datetime" => Datetime,
        "selection" => Selection(&[]),
        "many2one" | "many2one_reference" if !relation.is_empty() => Many2one(relation),
        "one2many" => One2many(relation, ""),
        "many2many" => Many2many(relation),
        "text" | "html" => Text,
        _ => Char,
    }
}

type FieldTable = HashMap<&'static str, BTreeMap<String, FieldType>>;

/// One recorded set, with the fields renamed to their 19.0 names (what the store uses).
fn recorded(version: u8) -> &'static FieldTable {
    static V19: OnceLock<FieldTable> = OnceLock::new();
    static V17: OnceLock<FieldTable> = OnceLock::new();
    let build = |files: &[(&'static str, &'static str)], v: u8| -> FieldTable {
        files
            .iter()
            .map(|(model, json)| {
                let fields: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(json).expect("recorded fields_get is JSON");
                let types = fields
                    .iter()
                    .map(|(name, f)| (canonical_field(v, model, name), parse_type(f)))
                    .collect();
                (*model, types)
            })
            .collect()
    };
    if version == 17 {
        V17.get_or_init(|| {
            let mut t = build(RECORDED_17, 17);
            for (model, fields) in recorded(19) {
                t.entry(model).or_insert_with(|| fields.clone());
            }
            t
        })
    } else {
        V19.get_or_init(|| build(RECORDED_19, 19))
    }
}

/// What one double accepts on the wire: the recorded fields of its version, adjusted to its
/// module set, and the models it has.
#[derive(Clone, Debug)]
pub struct Schema {
    pub version: u8,
    pub modules: Modules,
    accepted: FieldTable,
}

impl Schema {
    pub fn new(version: u8, modules: Modules) -> Self {
        let mut accepted = recorded(version).clone();
        let recorded_delivery = version == 17;
        if modules.delivery && !recorded_delivery {
            for (model, fields) in DELIVERY_FIELDS {
                let from = &recorded(17)[model];
                let to = accepted.entry(model).or_default();
                for f in *fields {
                    to.insert((*f).to_string(), from[*f]);
                }
            }
        }
        if !modules.delivery && recorded_delivery {
            for (model, fields) in DELIVERY_FIELDS {
                if let Some(to) = accepted.get_mut(model) {
                    for f in *fields {
                        to.remove(*f);
                    }
                }
            }
        }
        if !modules.stock {
            for m in STOCK_MODELS {
                accepted.remove(m);
            }
            for (model, fields) in STOCK_FIELDS {
                if let Some(to) = accepted.get_mut(model) {
                    for f in *fields {
                        to.remove(*f);
                    }
                }
            }
        }
        // Models the double needs that were not recorded (see MODELS for their sources).
        for m in MODELS {
            let present = match m.name {
                "uom.category" => version < 19,
                "stock.picking.type" => modules.stock,
                "ir.module.module"
                | "res.country"
                | "account.payment.term"
                | "account.incoterms" => true,
                _ => false,
            };
            if present {
                accepted
                    .entry(m.name)
                    .or_insert_with(|| m.fields.iter().map(|(n, t)| (n.to_string(), *t)).collect());
            }
        }
        Self {
            version,
            modules,
            accepted,
        }
    }

    pub fn has_model(&self, model: &str) -> bool {
        self.accepted.contains_key(model)
    }

    /// The type of a field this Odoo has (19.0 name), the double's own where it models it.
    pub fn field(&self, model: &Model, name: &str) -> Option<FieldType> {
        if name == "id" {
            return Some(Integer);
        }
        let recorded = self.accepted.get(model.name)?.get(name)?;
        Some(
            model
                .fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or(*recorded),
        )
    }

    /// Every field name this Odoo has on the model (19.0 names), for reads without a list.
    pub fn all_fields(&self, model: &Model) -> Vec<String> {
        self.accepted
            .get(model.name)
            .map(|f| f.keys().filter(|k| k.as_str() != "id").cloned().collect())
            .unwrap_or_default()
    }

    /// The installed modules this double presents: the recorded list of its version, less
    /// what its module set leaves out, plus stock_delivery where added.
    pub fn installed_modules(&self) -> Vec<(String, String, String)> {
        let recorded = if self.version == 17 {
            MODULES_17
        } else {
            MODULES_19
        };
        let v: serde_json::Value = serde_json::from_str(recorded).expect("recorded VERSION.json");
        let stockish = |n: &str| {
            n.starts_with("stock")
                || n.starts_with("mrp")
                || n.starts_with("purchase_mrp")
                || n == "purchase_stock"
                || n == "sale_stock"
                || n == "sale_purchase_stock"
                || n == "delivery"
                || n.contains("_stock")
        };
        let delivery = |n: &str| n == "stock_delivery" || n == "delivery";
        let mut out: Vec<(String, String, String)> = v["installed_modules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let name = m["name"].as_str()?.to_string();
                let keep = (self.modules.stock || !stockish(&name))
                    && (self.modules.delivery || !delivery(&name));
                keep.then(|| {
                    (
                        name,
                        m["shortdesc"].as_str().unwrap_or_default().to_string(),
                        m["installed_version"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
            })
            .collect();
        if self.modules.delivery && !out.iter().any(|(n, _, _)| n == "stock_delivery") {
            out.push((
                "stock_delivery".into(),
                "Delivery - Stock".into(),
                format!("{}.0.1.0", self.version),
            ));
        }
        out
    }
}

impl Model {
    /// The double's knowledge of a field whatever the version (for storage and typing; the
    /// wire accepts only what [`Schema::field`] has).
    pub fn field(&self, name: &str) -> Option<FieldType> {
        if name == "id" {
            return Some(Integer);
        }
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .or_else(|| {
                recorded(19)
                    .get(self.name)
                    .and_then(|f| f.get(name))
                    .copied()
            })
            .or_else(|| {
                recorded(17)
                    .get(self.name)
                    .and_then(|f| f.get(name))
                    .copied()
            })
    }
}

/// Translates a field name from the wire of `version` into the 19.0 name the store uses.
/// A 19.0 name an older version does not have (`product_uom_id` on 17's order line) becomes
/// a name no model has, so it fails as Odoo fails it (v17/jsonrpc/31b).
pub fn canonical_field(version: u8, model: &str, wire: &str) -> String {
    if version < 19 {
        for (m, new, old) in RENAMES_BEFORE_19 {
            if *m == model && *old == wire {
                return (*new).to_string();
            }
            if *m == model && *new == wire {
                return format!("{wire} (not on {version}.0)");
            }
        }
    }
    wire.to_string()
}

/// Translates a 19.0 field name into the one `version` shows on the wire.
pub fn wire_field(version: u8, model: &str, canonical: &str) -> String {
    if version < 19 {
        for (m, new, old) in RENAMES_BEFORE_19 {
            if *m == model && *new == canonical {
                return (*old).to_string();
            }
        }
    }
    canonical.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field the double models is one a real Odoo has in some recorded set, or comes
    /// with a stated source (the models not recorded, the delivery fields).
    #[test]
    fn every_modelled_field_has_a_recorded_source() {
        let full = [
            Schema::new(19, Modules::PURCHASE_STOCK_DELIVERY),
            Schema::new(17, Modules::PURCHASE_STOCK_DELIVERY),
        ];
        for m in MODELS {
            for (f, _) in m.fields {
                assert!(
                    full.iter().any(|s| s.field(m, f).is_some()),
                    "{}.{f} is modelled but no recorded set has it",
                    m.name
                );
            }
        }
    }

    #[test]
    fn module_sets_add_and_remove_what_their_modules_bring() {
        let picking = model("stock.picking").unwrap();
        let po = model("purchase.order").unwrap();
        let s19 = Schema::new(19, Modules::PURCHASE_STOCK);
        assert!(
            s19.field(picking, "carrier_tracking_ref").is_none(),
            "19 was recorded without stock_delivery"
        );
        assert!(s19.field(picking, "picking_type_code").is_some());
        assert!(s19.field(po, "acknowledged").is_some());
        let d19 = Schema::new(19, Modules::PURCHASE_STOCK_DELIVERY);
        assert!(d19.field(picking, "carrier_tracking_ref").is_some());
        let p19 = Schema::new(19, Modules::PURCHASE);
        assert!(!p19.has_model("stock.picking"));
        assert!(p19.field(po, "picking_ids").is_none());
        assert!(p19
            .field(model("product.product").unwrap(), "tracking")
            .is_none());
        let s17 = Schema::new(17, Modules::PURCHASE_STOCK);
        assert!(s17.field(picking, "carrier_tracking_ref").is_none());
        assert!(
            s17.field(po, "acknowledged").is_none(),
            "17 has no acknowledged"
        );
        let d17 = Schema::new(17, Modules::PURCHASE_STOCK_DELIVERY);
        assert!(d17.field(picking, "carrier_tracking_ref").is_some());
        let line = model("purchase.order.line").unwrap();
        assert!(
            d17.field(line, "product_uom_id").is_some(),
            "17's product_uom, stored as 19's name"
        );
        assert!(s19
            .installed_modules()
            .iter()
            .all(|(n, _, _)| n != "stock_delivery"));
        assert!(d19
            .installed_modules()
            .iter()
            .any(|(n, _, _)| n == "stock_delivery"));
        assert!(p19.installed_modules().iter().all(|(n, _, _)| n != "stock"));
    }
}

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
const MESSAGE_TYPES: &[&str] = &["email", "comment", "notification", "user_notification"];
const DISPLAY_TYPES: &[&str] = &["line_section", "line_note"];

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
            ("city", Char),
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
            ("write_date", Datetime),
        ],
        required: &["login"],
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
            ("amount_total", Float),
            ("order_line", One2many("purchase.order.line", "order_id")),
            ("picking_ids", One2many("stock.picking", "purchase_id")),
            ("receipt_status", Selection(RECEIPT_STATUS)),
            ("user_id", Many2one("res.users")),
            ("origin", Char),
            ("note", Text),
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

/// `fields_get` of each model as recorded from Odoo 19.0 (shared/odoo-wire/fields): every
/// field Odoo has, so the double accepts exactly the names Odoo accepts. Fields the double
/// does not model read as Odoo's empty value for their type.
const RECORDED_FIELDS: &[(&str, &str)] = &[
    ("res.partner", include_str!("fields/res.partner.json")),
    ("res.users", include_str!("fields/res.users.json")),
    ("res.currency", include_str!("fields/res.currency.json")),
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
    ("mail.message", include_str!("fields/mail.message.json")),
    ("ir.attachment", include_str!("fields/ir.attachment.json")),
];

type FieldTable =
    std::collections::HashMap<&'static str, std::collections::HashMap<String, FieldType>>;

fn recorded() -> &'static FieldTable {
    static TABLE: std::sync::OnceLock<FieldTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        RECORDED_FIELDS
            .iter()
            .map(|(model, json)| {
                let fields: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(json).expect("recorded fields_get is JSON");
                let types = fields
                    .into_iter()
                    .map(|(name, f)| {
                        let relation = f
                            .get("relation")
                            .and_then(|r| r.as_str())
                            .map(leak)
                            .unwrap_or("");
                        let t = match f.get("type").and_then(|t| t.as_str()).unwrap_or("char") {
                            "integer" => Integer,
                            "float" | "monetary" => Float,
                            "boolean" => Boolean,
                            "date" => Date,
                            "datetime" => Datetime,
                            "selection" => Selection(&[]),
                            "many2one" | "many2one_reference" if !relation.is_empty() => {
                                Many2one(relation)
                            }
                            "one2many" => One2many(relation, ""),
                            "many2many" => Many2many(relation),
                            "text" | "html" => Text,
                            _ => Char,
                        };
                        (name, t)
                    })
                    .collect();
                (*model, types)
            })
            .collect()
    })
}

impl Model {
    pub fn field(&self, name: &str) -> Option<FieldType> {
        if name == "id" {
            return Some(Integer);
        }
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .or_else(|| recorded().get(self.name).and_then(|f| f.get(name)).copied())
    }

    /// Every field name, modelled or recorded, for reads without a field list.
    pub fn all_fields(&self) -> Vec<String> {
        let mut names: Vec<String> = self.fields.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(rec) = recorded().get(self.name) {
            let mut more: Vec<&String> = rec
                .keys()
                .filter(|k| !names.contains(k) && k.as_str() != "id")
                .collect();
            more.sort();
            names.extend(more.into_iter().cloned());
        }
        names
    }
}

/// Field names as an older Odoo presents them: (model, name in 19.0, older name).
pub const RENAMES_BEFORE_19: &[(&str, &str, &str)] = &[
    ("purchase.order.line", "product_uom_id", "product_uom"),
    ("purchase.order.line", "tax_ids", "taxes_id"),
];

/// Translates a field name from the wire of `version` into the 19.0 name the store uses.
pub fn canonical_field(version: u8, model: &str, wire: &str) -> String {
    if version < 19 {
        for (m, new, old) in RENAMES_BEFORE_19 {
            if *m == model && *old == wire {
                return (*new).to_string();
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

//! The Odoo fields the portal reads and writes, per server version, in one place.
//! 19.0 renamed purchase.order.line `product_uom` → `product_uom_id` and `taxes_id` → `tax_ids`.

/// Model names.
pub const PURCHASE_ORDER: &str = "purchase.order";
pub const PURCHASE_ORDER_LINE: &str = "purchase.order.line";
pub const PARTNER: &str = "res.partner";
pub const PRODUCT: &str = "product.product";
pub const SUPPLIER_INFO: &str = "product.supplierinfo";
pub const MAIL_MESSAGE: &str = "mail.message";
pub const PICKING: &str = "stock.picking";
pub const STOCK_MOVE: &str = "stock.move";
pub const STOCK_MOVE_LINE: &str = "stock.move.line";
pub const UOM: &str = "uom.uom";
pub const ATTACHMENT: &str = "ir.attachment";

/// Field names that differ between the versions we support.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldNames {
    pub line_uom: &'static str,
}

impl FieldNames {
    pub fn for_version(major: u8) -> Self {
        if major >= 19 {
            Self {
                line_uom: "product_uom_id",
            }
        } else {
            Self {
                line_uom: "product_uom",
            }
        }
    }

    pub fn order_fields(&self) -> Vec<&'static str> {
        vec![
            "name",
            "partner_id",
            "state",
            "date_order",
            "date_approve",
            "currency_id",
            "amount_total",
            "user_id",
            "order_line",
            "write_date",
        ]
    }

    pub fn line_fields(&self) -> Vec<&'static str> {
        vec![
            "order_id",
            "sequence",
            "display_type",
            "name",
            "product_id",
            "product_qty",
            self.line_uom,
            "price_unit",
            "date_planned",
            "qty_received",
            "write_date",
        ]
    }

    /// Every model and field the portal needs, for `millrace odoo check`.
    pub fn required(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            (
                PARTNER,
                vec!["name", "commercial_partner_id", "supplier_rank", "email"],
            ),
            (PRODUCT, vec!["name", "default_code", "uom_id", "tracking"]),
            (
                SUPPLIER_INFO,
                vec![
                    "partner_id",
                    "product_id",
                    "product_code",
                    "product_name",
                    "min_qty",
                    "price",
                    "delay",
                ],
            ),
            (UOM, vec!["name"]),
            (PURCHASE_ORDER, {
                let mut f = self.order_fields();
                f.push("acknowledged");
                f
            }),
            (PURCHASE_ORDER_LINE, self.line_fields()),
            (
                PICKING,
                vec![
                    "scheduled_date",
                    "state",
                    "carrier_tracking_ref",
                    "move_ids",
                ],
            ),
            (
                STOCK_MOVE,
                vec![
                    "product_uom_qty",
                    "quantity",
                    "purchase_line_id",
                    "picking_id",
                ],
            ),
            (
                STOCK_MOVE_LINE,
                vec!["move_id", "quantity", "lot_name", "picked"],
            ),
            (MAIL_MESSAGE, vec!["model", "res_id", "body"]),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_unit_field_follows_the_version() {
        assert_eq!(FieldNames::for_version(19).line_uom, "product_uom_id");
        assert_eq!(FieldNames::for_version(18).line_uom, "product_uom");
        assert_eq!(FieldNames::for_version(17).line_uom, "product_uom");
        assert!(FieldNames::for_version(17)
            .line_fields()
            .contains(&"product_uom"));
    }
}

-- On-hand stock per planning item and location as Odoo last said it
-- (`product.product.qty_available` read with `context.warehouse_id`, in the product's unit),
-- for the supply the portal offers the planning platform. Refreshed in the background for
-- the item-locations of the latest approved forecast version; replaced whole each time.
CREATE TABLE planning_on_hand (
    item_code TEXT NOT NULL,
    location_code TEXT NOT NULL,
    product_odoo_id INTEGER NOT NULL,
    warehouse_odoo_id INTEGER NOT NULL,
    quantity TEXT NOT NULL,
    unit TEXT NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (item_code, location_code)
);

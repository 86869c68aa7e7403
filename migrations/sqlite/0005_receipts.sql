-- Odoo's incoming receipts (stock.picking) of each order, as the poller last read them.
CREATE TABLE receipts (
    id INTEGER PRIMARY KEY,
    odoo_id INTEGER NOT NULL UNIQUE,
    order_id INTEGER NOT NULL REFERENCES purchase_orders(id),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    scheduled_date TEXT,
    date_done TEXT,
    carrier_tracking_ref TEXT NOT NULL DEFAULT ''
);
CREATE INDEX receipts_order ON receipts (order_id);

-- What the warehouse booked on validated receipts, per order line and lot, to compare
-- with what shipment notices announced.
ALTER TABLE receipts ADD COLUMN lots_synced BIGINT NOT NULL DEFAULT 0;

CREATE TABLE received_lots (
    receipt_odoo_id BIGINT NOT NULL,
    line_odoo_id BIGINT NOT NULL,
    lot_name TEXT NOT NULL,
    quantity TEXT NOT NULL
);
CREATE INDEX received_lots_line ON received_lots (line_odoo_id);

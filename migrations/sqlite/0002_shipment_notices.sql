-- Advance shipment notices (ASN): what a supplier announces it has shipped.

ALTER TABLE purchase_order_lines ADD COLUMN tracking TEXT NOT NULL DEFAULT 'none';  -- none | lot | serial
ALTER TABLE suppliers ADD COLUMN over_delivery_percent TEXT;                      -- NULL: the global default

CREATE TABLE shipment_notices (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
    status TEXT NOT NULL CHECK (status IN ('submitted', 'cancelled', 'received')),
    ship_date TEXT NOT NULL,
    expected_arrival TEXT NOT NULL,
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    package_count INTEGER NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    correlation_id TEXT NOT NULL
);
CREATE INDEX shipment_notices_supplier ON shipment_notices (supplier_id, id DESC);

CREATE TABLE shipment_notice_lines (
    id INTEGER PRIMARY KEY,
    notice_id INTEGER NOT NULL REFERENCES shipment_notices(id),
    line_id INTEGER NOT NULL REFERENCES purchase_order_lines(id),
    quantity TEXT NOT NULL,
    lot_numbers TEXT NOT NULL DEFAULT '[]'   -- JSON list: one lot, or one serial per unit
);
CREATE INDEX shipment_notice_lines_line ON shipment_notice_lines (line_id);

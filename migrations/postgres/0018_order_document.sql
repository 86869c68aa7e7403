-- The order as a supplier needs it (issue 16): who buys, where to ship, on what terms, read
-- from Odoo with the rest of the order. NULL: not set in Odoo, or a field this Odoo lacks
-- (server::odoo::fields says which, and the fallback).
CREATE TABLE order_headers (
    order_id BIGINT PRIMARY KEY REFERENCES purchase_orders(id),
    company_odoo_id BIGINT,
    company_name TEXT,
    company_address TEXT,
    company_vat TEXT,
    -- warehouse (the receipt type's warehouse), dropship (the order's address) or company
    ship_to_kind TEXT,
    -- What keeps destinations apart: 'warehouse:<id>', 'partner:<id>' or 'company:<id>'.
    ship_to_key TEXT,
    ship_to_name TEXT,
    ship_to_address TEXT,
    buyer_email TEXT,
    buyer_phone TEXT,
    payment_terms TEXT,
    incoterm TEXT,
    incoterm_location TEXT,
    partner_ref TEXT,
    -- The supplier's reference the portal last wrote (reading it back is no buyer's change).
    written_partner_ref TEXT,
    notes TEXT,
    amount_untaxed TEXT,
    amount_tax TEXT
);
CREATE INDEX order_headers_company ON order_headers (company_odoo_id);
CREATE INDEX order_headers_ship_to ON order_headers (ship_to_key);

-- Section and note lines of the order, as Odoo prints them between the goods.
CREATE TABLE order_note_lines (
    odoo_id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES purchase_orders(id),
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('line_section', 'line_note')),
    text TEXT NOT NULL
);
CREATE INDEX order_note_lines_order ON order_note_lines (order_id);

-- Millrace portal schema (SQLite). Quantities and money are decimal strings; datetimes are
-- UTC 'YYYY-MM-DD HH:MM:SS' strings, like Odoo's.

CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    odoo_partner_id INTEGER NOT NULL UNIQUE,
    date_tolerance_days INTEGER,          -- NULL: the global default
    quantity_tolerance_percent TEXT,      -- NULL: the global default
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('supplier_admin', 'supplier_user', 'buyer', 'admin')),
    supplier_id INTEGER REFERENCES suppliers(id),
    active INTEGER NOT NULL DEFAULT 1,
    -- Bumped on password change or deactivation: every session holding an older epoch ends.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at TEXT NOT NULL,
    CHECK ((role IN ('supplier_admin', 'supplier_user')) = (supplier_id IS NOT NULL))
);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL COLLATE NOCASE,
    ip TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

CREATE TABLE purchase_orders (
    id INTEGER PRIMARY KEY,
    odoo_id INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
    odoo_state TEXT NOT NULL,
    date_order TEXT,
    date_approve TEXT,
    currency TEXT NOT NULL DEFAULT '',
    amount_total TEXT NOT NULL DEFAULT '0',
    buyer_name TEXT NOT NULL DEFAULT '',
    odoo_write_date TEXT NOT NULL,
    -- Derived by domain::order::derive_order_status after every change.
    status TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by INTEGER REFERENCES users(id),
    -- What changed in Odoo since the supplier last answered (NULL: nothing).
    odoo_change_summary TEXT,
    visible INTEGER NOT NULL DEFAULT 1,
    synced_at TEXT NOT NULL
);
CREATE INDEX purchase_orders_supplier ON purchase_orders (supplier_id, date_order DESC);

CREATE TABLE purchase_order_lines (
    id INTEGER PRIMARY KEY,
    odoo_id INTEGER NOT NULL UNIQUE,
    order_id INTEGER NOT NULL REFERENCES purchase_orders(id),
    sequence INTEGER NOT NULL DEFAULT 10,
    product_odoo_id INTEGER,
    product_code TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    vendor_product_code TEXT NOT NULL DEFAULT '',
    vendor_product_name TEXT NOT NULL DEFAULT '',
    quantity TEXT NOT NULL,
    uom TEXT NOT NULL DEFAULT '',
    price_unit TEXT NOT NULL,
    date_planned TEXT,
    qty_received TEXT NOT NULL DEFAULT '0',
    answer TEXT,                 -- domain::order::LineAnswerState code
    proposed_date TEXT,
    proposed_quantity TEXT,
    answer_reason TEXT,
    answered_at TEXT,
    removed_in_odoo INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX purchase_order_lines_order ON purchase_order_lines (order_id, sequence);

-- Vendor pricelists: the supplier's own code and name for a product.
CREATE TABLE vendor_products (
    odoo_partner_id INTEGER NOT NULL,
    product_odoo_id INTEGER NOT NULL,
    vendor_code TEXT NOT NULL DEFAULT '',
    vendor_name TEXT NOT NULL DEFAULT '',
    lead_time_days INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (odoo_partner_id, product_odoo_id)
);

-- The order's history: who did what, when, from which click.
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES purchase_orders(id),
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    correlation_id TEXT
);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- Everything that must reach Odoo, written in the same transaction as the action.
CREATE TABLE outbox_messages (
    id INTEGER PRIMARY KEY,
    correlation_id TEXT NOT NULL UNIQUE,
    order_odoo_id INTEGER NOT NULL,       -- messages of one order are delivered in id order
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'discarded', 'conflict')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_due ON outbox_messages (status, next_attempt_at);
CREATE INDEX outbox_order ON outbox_messages (order_odoo_id, id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT ''
);

-- Keyset cursors of the Odoo poller: (write_date, ids already seen at that second).
CREATE TABLE sync_cursors (
    model TEXT PRIMARY KEY,
    last_write_date TEXT NOT NULL,
    seen_ids TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);

-- Mail the portal sent (the demo shows it as a mailbox).
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE password_reset_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    expires_at TEXT NOT NULL,
    used_at TEXT
);

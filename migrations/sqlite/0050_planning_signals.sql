-- Demand signals (issue 14, the push into Odoo): what an approved version asks of Odoo, one
-- per item-location of a forecast (a reordering rule) or per row of a supply recommendation
-- (a draft RFQ), pushed by the `odoo.planning_push` job. The identity (import_id, signal_key)
-- makes a doubled approval or a replayed push change nothing.
CREATE TABLE planning_signals (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    import_id INTEGER NOT NULL REFERENCES planning_imports(id),
    kind TEXT NOT NULL CHECK (kind IN ('rule', 'rfq')),
    signal_key TEXT NOT NULL,
    item_code TEXT NOT NULL,
    location_code TEXT NOT NULL,
    product_odoo_id INTEGER NOT NULL,
    warehouse_code TEXT NOT NULL,
    warehouse_odoo_id INTEGER,
    min_qty TEXT,
    max_qty TEXT,
    quantity TEXT,
    need_by TEXT,
    vendor TEXT,
    correlation_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'unchanged', 'conflict', 'kept')),
    -- 'apply': the buyer chose the portal's values over Odoo's (no conflict check on the next push).
    decision TEXT,
    odoo_model TEXT,
    odoo_id INTEGER,
    odoo_name TEXT,
    -- On a conflict: what Odoo holds (JSON {min, max, trigger, manual}).
    odoo_values TEXT,
    note TEXT,
    job_id INTEGER,
    created_at TEXT NOT NULL,
    applied_at TEXT,
    UNIQUE (import_id, signal_key)
);
CREATE INDEX planning_signals_product ON planning_signals (product_odoo_id, warehouse_code, id);

-- What the portal last wrote to (or accepted of) each reordering rule: a rule whose values
-- differ from these was changed in Odoo by someone else.
CREATE TABLE planning_rules (
    product_odoo_id INTEGER NOT NULL,
    warehouse_odoo_id INTEGER NOT NULL,
    rule_odoo_id INTEGER NOT NULL,
    min_qty TEXT NOT NULL,
    max_qty TEXT NOT NULL,
    trigger_mode TEXT NOT NULL,
    manual_qty TEXT,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (product_odoo_id, warehouse_odoo_id)
);

-- Purchase orders in Odoo that answer a signal: the RFQs the push created, and orders whose
-- `origin` names a signal's reference or its rule (read by the poller).
CREATE TABLE planning_signal_orders (
    signal_id INTEGER NOT NULL REFERENCES planning_signals(id),
    order_odoo_id INTEGER NOT NULL,
    order_name TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (signal_id, order_odoo_id)
);
CREATE INDEX planning_signal_orders_order ON planning_signal_orders (order_odoo_id);

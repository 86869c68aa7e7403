-- Demand planning (issue 14): mapping of planning codes to Odoo, column-mapping profiles per
-- source, and snapshots (forecasts, supply recommendations) with their validation report
-- and, once valid, their rows. Quantities are decimal strings; dates 'YYYY-MM-DD'.

-- Explicit item mappings; they win over the default match on the product's internal
-- reference (`purchase_order_lines.product_code`).
CREATE TABLE planning_items (
    item_code TEXT PRIMARY KEY,
    product_odoo_id INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);

-- Planning locations and the Odoo warehouse each stands for (by its code, with its id when known).
CREATE TABLE planning_locations (
    location_code TEXT PRIMARY KEY,
    warehouse_code TEXT NOT NULL,
    warehouse_odoo_id INTEGER,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);

-- Units: 1 unit_code = factor uom_name (the Odoo unit the product is kept in).
CREATE TABLE planning_units (
    unit_code TEXT PRIMARY KEY,
    uom_name TEXT NOT NULL,
    factor TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);

-- How one source writes its files: its column names (JSON object: source column → canonical
-- field), its date format (chrono's), decimal separator and CSV delimiter.
CREATE TABLE planning_profiles (
    source TEXT PRIMARY KEY,
    columns TEXT NOT NULL DEFAULT '{}',
    date_format TEXT NOT NULL DEFAULT '%Y-%m-%d',
    decimal_separator TEXT NOT NULL DEFAULT '.',
    delimiter TEXT NOT NULL DEFAULT ',',
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);

-- One snapshot as sent: the file is kept (by content hash under the upload directory) so a
-- mapping fix re-validates it without a new upload. 'valid' and 'approved' ones are versions.
CREATE TABLE planning_imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('forecast', 'supply')),
    source TEXT NOT NULL,
    snapshot_id TEXT,
    content_sha256 TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'json')),
    file_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'rejected', 'valid', 'approved')),
    version INTEGER,
    row_count INTEGER NOT NULL DEFAULT 0,
    item_count INTEGER NOT NULL DEFAULT 0,
    error_count INTEGER NOT NULL DEFAULT 0,
    sent_by INTEGER NOT NULL REFERENCES users(id),
    sent_at TEXT NOT NULL,
    validated_at TEXT,
    approved_by INTEGER REFERENCES users(id),
    approved_at TEXT,
    correlation_id TEXT NOT NULL
);
CREATE UNIQUE INDEX planning_imports_content ON planning_imports (kind, content_sha256);
CREATE UNIQUE INDEX planning_imports_snapshot ON planning_imports (kind, source, snapshot_id) WHERE snapshot_id IS NOT NULL;
CREATE UNIQUE INDEX planning_imports_version ON planning_imports (kind, version) WHERE version IS NOT NULL;

-- The last validation's report (the first 1,000 problems; error_count has them all).
CREATE TABLE planning_errors (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES planning_imports(id),
    row_number INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    value TEXT NOT NULL,
    problem TEXT NOT NULL,
    fix TEXT NOT NULL
);
CREATE INDEX planning_errors_import ON planning_errors (import_id, id);

-- Codes the last validation could not map, with how many rows hold each.
CREATE TABLE planning_unmapped (
    import_id INTEGER NOT NULL REFERENCES planning_imports(id),
    what TEXT NOT NULL CHECK (what IN ('item', 'location', 'unit')),
    code TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    PRIMARY KEY (import_id, what, code)
);

-- A valid forecast's rows, mapped: quantity in the product's unit.
CREATE TABLE planning_forecast_rows (
    import_id INTEGER NOT NULL REFERENCES planning_imports(id),
    item_code TEXT NOT NULL,
    location_code TEXT NOT NULL,
    bucket_start TEXT NOT NULL,
    kind TEXT NOT NULL,
    bucket TEXT NOT NULL,
    product_odoo_id INTEGER NOT NULL,
    warehouse_code TEXT NOT NULL,
    quantity TEXT NOT NULL,
    source_quantity TEXT NOT NULL,
    source_unit TEXT NOT NULL,
    safety_stock TEXT,
    min_qty TEXT,
    max_qty TEXT,
    PRIMARY KEY (import_id, item_code, location_code, bucket_start, kind)
);

-- A valid supply recommendation snapshot's rows, mapped.
CREATE TABLE planning_supply_rows (
    import_id INTEGER NOT NULL REFERENCES planning_imports(id),
    source_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    location_code TEXT NOT NULL,
    product_odoo_id INTEGER NOT NULL,
    warehouse_code TEXT NOT NULL,
    quantity TEXT NOT NULL,
    source_quantity TEXT NOT NULL,
    source_unit TEXT NOT NULL,
    need_by TEXT NOT NULL,
    vendor TEXT,
    PRIMARY KEY (import_id, source_id)
);
CREATE INDEX planning_supply_rows_item ON planning_supply_rows (import_id, item_code, location_code);

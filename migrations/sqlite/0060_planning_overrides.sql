-- Demand planning (issue 14): planner overrides on a forecast bucket, kept apart from the
-- imported rows so they outlive later imports until their day passes; auto-approval limits
-- per source; and which rule approved a version (NULL: a planner did).

CREATE TABLE planning_overrides (
    id INTEGER PRIMARY KEY,
    item_code TEXT NOT NULL,
    location_code TEXT NOT NULL,
    bucket_start TEXT NOT NULL,          -- 'YYYY-MM-DD'
    quantity TEXT NOT NULL,              -- in the product's unit, like the mapped rows
    reason TEXT NOT NULL,
    until TEXT NOT NULL,                 -- 'YYYY-MM-DD', the last day it applies
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (item_code, location_code, bucket_start)
);

-- A source's versions are approved without a planner when every bucket's change against the
-- previous approved version is within max_percent or within max_absolute (NULL: that limit
-- is not used). Source '*' applies to sources without a row of their own.
CREATE TABLE planning_auto_approval (
    source TEXT PRIMARY KEY,
    max_percent TEXT,
    max_absolute TEXT,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL
);

ALTER TABLE planning_imports ADD COLUMN approved_rule TEXT;

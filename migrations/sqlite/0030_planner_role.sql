-- Planners (issue 14): internal staff who work on the planning pages. SQLite cannot alter a
-- CHECK, so `users` is rebuilt with every column it has after 0001..0022 (0011's mail
-- preferences, 0020's kind), in the same order, with the same constraints and ids.
-- Migrations run inside a transaction, where foreign keys cannot be switched off: they are
-- deferred instead. Dropping `users` counts each row that references it as a violation;
-- inserting the rows again into the new `users` counts them resolved, so the transaction
-- commits only if every reference finds its user again. (Renaming a table would rewrite
-- the other tables' references to the old name, so the copy goes through `users_previous`.)
PRAGMA defer_foreign_keys = ON;
CREATE TABLE users_previous AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('supplier_admin', 'supplier_user', 'buyer', 'admin', 'planner')),
    supplier_id INTEGER REFERENCES suppliers(id),
    active INTEGER NOT NULL DEFAULT 1,
    -- Bumped on password change or deactivation: every session holding an older epoch ends.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at TEXT NOT NULL,
    notify_orders INTEGER NOT NULL DEFAULT 1,
    notify_digest INTEGER NOT NULL DEFAULT 1,
    digest_sent_at TEXT,
    kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'integration')),
    CHECK ((role IN ('supplier_admin', 'supplier_user')) = (supplier_id IS NOT NULL))
);
INSERT INTO users (id, email, display_name, password_hash, role, supplier_id, active,
    session_epoch, time_zone, created_at, notify_orders, notify_digest, digest_sent_at, kind)
SELECT id, email, display_name, password_hash, role, supplier_id, active,
    session_epoch, time_zone, created_at, notify_orders, notify_digest, digest_sent_at, kind
FROM users_previous;
DROP TABLE users_previous;

-- Scheduled pulls of planning snapshots from a URL (issue 14, intake tier 2): every N hours
-- within a window of UTC hours, with credentials sealed like webhook secrets. Each pull
-- acts as its own technical user (`users.kind = 'integration'`, role planner), so the
-- versions it sends name it.
CREATE TABLE planning_pulls (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('forecast', 'supply')),
    url TEXT NOT NULL,
    auth TEXT NOT NULL DEFAULT 'none' CHECK (auth IN ('none', 'basic', 'bearer')),
    username TEXT,
    secret_key_id TEXT,
    secret_nonce TEXT,
    secret_sealed TEXT,
    every_hours INTEGER NOT NULL,
    window_start INTEGER NOT NULL DEFAULT 0,
    window_end INTEGER NOT NULL DEFAULT 24,
    paused INTEGER NOT NULL DEFAULT 0,
    user_id INTEGER NOT NULL REFERENCES users(id),
    next_due_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_status TEXT,
    last_message TEXT,
    last_import_id INTEGER REFERENCES planning_imports(id),
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);

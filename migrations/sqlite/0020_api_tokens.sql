-- The machine side (issue 15): API tokens for suppliers' and the manufacturer's own systems.
-- Each token acts as a technical user of its organisation (kind 'integration': it cannot
-- sign in, reset a password or receive mail), so every action keeps its actor, history and
-- scoping exactly as on the pages. Only the SHA-256 of a token is stored; it is shown once.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'integration'));

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    -- The token's first characters, to tell tokens apart in lists and logs.
    prefix TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    -- Space-separated, e.g. 'orders:read orders:write shipments:write'.
    scopes TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT,
    revoked_by INTEGER REFERENCES users(id)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The Odoo connection an admin saved on /admin/odoo (one row). The API key is sealed
-- (XChaCha20-Poly1305) under the server key named by key_id; it is never stored in clear.
-- Each save raises revision; every instance reconnects when it sees a new one.
CREATE TABLE odoo_connection (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    url TEXT NOT NULL,
    database_name TEXT NOT NULL,
    login TEXT NOT NULL,
    key_id TEXT NOT NULL,
    api_key_nonce TEXT NOT NULL,
    api_key_sealed TEXT NOT NULL,
    revision BIGINT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at TEXT NOT NULL
);

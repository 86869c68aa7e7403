-- What each running instance is connected with: the settings revision it runs on and why
-- not the latest, refreshed every few seconds, so the admin page can say when every
-- instance has switched (and an old API key may be revoked in Odoo).
CREATE TABLE odoo_link_instances (
    instance TEXT PRIMARY KEY,
    revision INTEGER,
    problem TEXT,
    seen_at TEXT NOT NULL
);

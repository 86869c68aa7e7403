-- Several instances on one database: whose lease an outbox delivery is under (a worker
-- that lost its lease must not record the outcome), and who runs the Odoo poller.
ALTER TABLE outbox_messages ADD COLUMN lease_owner TEXT;

CREATE TABLE sync_leases (
    name TEXT PRIMARY KEY,          -- 'poller:<odoo url>/<database>'
    holder TEXT NOT NULL,           -- the instance holding it
    lease_until TEXT NOT NULL,
    poll_requested_at TEXT          -- a webhook hint taken by another instance
);

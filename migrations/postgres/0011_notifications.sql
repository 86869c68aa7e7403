-- Per-user mail preferences, and when each staff member last got the exceptions digest.
ALTER TABLE users ADD COLUMN notify_orders BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN notify_digest BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN digest_sent_at TEXT;

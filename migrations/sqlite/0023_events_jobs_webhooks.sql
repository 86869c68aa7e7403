-- The event feed and outbound webhooks (issue 15), on the one durable job mechanism (issue 12).

-- What happened in the portal, written in the transaction of the change it describes
-- (`server::events`). `supplier_id` is whose event it is (NULL: the staff's alone);
-- `payload` is the canonical representation (`data` of the event as the API shows it).
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    correlation_id TEXT,
    supplier_id INTEGER REFERENCES suppliers(id),
    staff_only INTEGER NOT NULL DEFAULT 0 CHECK (staff_only IN (0, 1)),
    order_id INTEGER,
    payload TEXT NOT NULL
);
CREATE INDEX events_supplier ON events (supplier_id, id);
CREATE INDEX events_at ON events (occurred_at);

-- Durable jobs (`server::jobs`): one table, a handler per kind. Jobs of one ordering key run
-- one at a time, in id order; a dead one holds the later ones of its key until replayed or
-- discarded.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead', 'discarded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    lease_until TEXT,
    lease_owner TEXT,
    correlation_id TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX jobs_due ON jobs (state, next_attempt_at);
CREATE INDEX jobs_key ON jobs (ordering_key, id);

-- Webhook subscribers: an organisation's systems (supplier_id) or the staff's (NULL).
-- Secrets are sealed (`server::secrets`); during a rotation the previous one signs too,
-- until `previous_until`.
CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    supplier_id INTEGER REFERENCES suppliers(id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    -- Space-separated event types, or '*' for all.
    event_types TEXT NOT NULL,
    secret_key_id TEXT NOT NULL,
    secret_nonce TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    previous_key_id TEXT,
    previous_nonce TEXT,
    previous_sealed TEXT,
    previous_until TEXT,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'deleted')),
    paused_reason TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    last_success_at TEXT,
    last_failure_at TEXT
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (supplier_id);

-- Every attempt to deliver an event to a subscriber, for its delivery log.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions(id),
    job_id INTEGER NOT NULL,
    event_id INTEGER,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_subscription ON webhook_attempts (subscription_id, id);

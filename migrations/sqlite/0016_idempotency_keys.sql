-- The first result of each state-changing form a user submitted, by the form's
-- idempotency key: a retried or doubled submission answers this instead of acting again.
-- `request` names the action and a hash of its inputs (a key reused for another request is
-- refused). Kept a day (server::idempotency::KEPT).
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL,
    form_key TEXT NOT NULL,
    request TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, form_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

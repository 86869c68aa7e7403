-- The Odoo outbox moves onto the durable jobs (issue 12): each message waiting for Odoo
-- (pending) or for a buyer (dead, conflict) gets an `odoo.outbox` job, keyed by its purchase
-- order as the outbox ordered them, so an upgrade loses nothing and keeps each order's
-- messages in order. Dead and conflicting messages become dead jobs: they hold their order's
-- later messages as before, until replayed or discarded. outbox_messages stays as the record
-- of each message and what came of it (status, attempts, last error, delivered at); its
-- queue columns go, the jobs keep that now.
CREATE INDEX jobs_migrating_outbox ON jobs (correlation_id);

INSERT INTO jobs (kind, ordering_key, payload, state, attempts, next_attempt_at, last_error, correlation_id, created_at, done_at)
SELECT 'odoo.outbox', 'odoo.order:' || order_odoo_id, json_object('correlation_id', correlation_id),
       CASE WHEN status = 'pending' THEN 'pending' ELSE 'dead' END,
       attempts,
       next_attempt_at,
       last_error,
       correlation_id,
       created_at,
       CASE WHEN status = 'pending' THEN NULL ELSE next_attempt_at END
FROM outbox_messages WHERE status IN ('pending', 'dead', 'conflict') ORDER BY id;

ALTER TABLE outbox_messages ADD COLUMN job_id INTEGER;
UPDATE outbox_messages SET job_id = (
    SELECT j.id FROM jobs j WHERE j.kind = 'odoo.outbox' AND j.correlation_id = outbox_messages.correlation_id
) WHERE status IN ('pending', 'dead', 'conflict');
CREATE UNIQUE INDEX outbox_job ON outbox_messages (job_id);
DROP INDEX jobs_migrating_outbox;

DROP INDEX outbox_due;
ALTER TABLE outbox_messages DROP COLUMN next_attempt_at;
ALTER TABLE outbox_messages DROP COLUMN lease_until;
ALTER TABLE outbox_messages DROP COLUMN lease_owner;

-- Mail moves onto the durable jobs (issue 12): every mail not sent yet becomes a `mail` job
-- (payload: its mail_outbox id; a key per mail, as `notify::queue` writes them), so an
-- upgrade loses no queued mail. Mail the old mailer had given up on (10 attempts) becomes
-- a dead job, which can be replayed. mail_outbox stays as the record of each mail and when
-- it was sent (the demo's mailbox reads it); its queue columns go, jobs keep that now.
INSERT INTO jobs (kind, ordering_key, payload, state, attempts, next_attempt_at, last_error, created_at, done_at)
SELECT 'mail', 'mail:' || CAST(id AS TEXT), '{"mail":' || CAST(id AS TEXT) || '}',
       CASE WHEN attempts >= 10 THEN 'dead' ELSE 'pending' END,
       attempts,
       COALESCE(next_attempt_at, created_at),
       last_error,
       created_at,
       CASE WHEN attempts >= 10 THEN COALESCE(next_attempt_at, created_at) END
FROM mail_outbox WHERE sent_at IS NULL ORDER BY id;

ALTER TABLE mail_outbox DROP COLUMN attempts;
ALTER TABLE mail_outbox DROP COLUMN next_attempt_at;
ALTER TABLE mail_outbox DROP COLUMN last_error;

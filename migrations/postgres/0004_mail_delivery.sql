-- Mail is sent over SMTP by the mailer when one is configured; these say how far it got.
ALTER TABLE mail_outbox ADD COLUMN sent_at TEXT;
ALTER TABLE mail_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE mail_outbox ADD COLUMN last_error TEXT;

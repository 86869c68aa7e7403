-- Per-organisation mail preferences: whether the organisation's users get order mails at
-- all (an organisation that takes orders by API may not want them), and a shared mailbox
-- that gets a copy of every order mail.
ALTER TABLE suppliers ADD COLUMN notify_orders INTEGER NOT NULL DEFAULT 1;
ALTER TABLE suppliers ADD COLUMN order_mail_copy_to TEXT;

-- When the portal's reference reached Odoo (our clock): a poll whose reads started before
-- it may carry the value from before the write, which is no change by the buyer.
ALTER TABLE order_headers ADD COLUMN written_partner_ref_at TEXT;

-- What Odoo held when a write-back met a changed line (JSON {date_planned, product_qty}):
-- a buyer who applies the supplier's answer over Odoo's change aims the write at this, not
-- at the portal's copy of the line, which the poller may not have refreshed yet.
ALTER TABLE outbox_messages ADD COLUMN conflict_odoo_now TEXT;

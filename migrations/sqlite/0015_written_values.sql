-- What the portal last wrote to each Odoo line (a date or quantity the supplier's answer
-- or the buyer's decision carried), so reading it back is not taken for the buyer's
-- change, whatever became of the answer since.
ALTER TABLE purchase_order_lines ADD COLUMN written_date_planned TEXT;
ALTER TABLE purchase_order_lines ADD COLUMN written_quantity TEXT;

-- A buyer's decision on a supplier's proposal, and how long a supplier has to acknowledge.
ALTER TABLE purchase_order_lines ADD COLUMN buyer_reason TEXT;
ALTER TABLE purchase_order_lines ADD COLUMN decided_by BIGINT REFERENCES users(id);
ALTER TABLE purchase_order_lines ADD COLUMN decided_at TEXT;
ALTER TABLE suppliers ADD COLUMN ack_window_hours BIGINT;   -- NULL: the global default

-- The supplier's inbox: its visible orders, newest first.
CREATE INDEX purchase_orders_inbox ON purchase_orders (supplier_id, visible, date_order DESC, id DESC);

-- The inbox's orders per status, per supplier, kept in step with purchase_orders by
-- triggers: every writer (the poller, the supplier's answers, conflicts, visibility)
-- updates it in its own transaction, so the unfiltered inbox reads a few rows instead of
-- counting the supplier's orders on every view. Only visible orders count.
CREATE TABLE order_status_counts (
    supplier_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    orders INTEGER NOT NULL,
    PRIMARY KEY (supplier_id, status)
);

INSERT INTO order_status_counts (supplier_id, status, orders)
SELECT supplier_id, status, COUNT(*) FROM purchase_orders WHERE visible = 1 GROUP BY supplier_id, status;

CREATE TRIGGER order_status_counts_insert AFTER INSERT ON purchase_orders
WHEN NEW.visible = 1
BEGIN
    INSERT INTO order_status_counts (supplier_id, status, orders) VALUES (NEW.supplier_id, NEW.status, 1)
    ON CONFLICT (supplier_id, status) DO UPDATE SET orders = orders + 1;
END;

CREATE TRIGGER order_status_counts_update AFTER UPDATE OF status, visible, supplier_id ON purchase_orders
WHEN OLD.status IS NOT NEW.status OR OLD.visible IS NOT NEW.visible OR OLD.supplier_id IS NOT NEW.supplier_id
BEGIN
    UPDATE order_status_counts SET orders = orders - 1
    WHERE OLD.visible = 1 AND supplier_id = OLD.supplier_id AND status = OLD.status;
    INSERT INTO order_status_counts (supplier_id, status, orders)
    SELECT NEW.supplier_id, NEW.status, 1 WHERE NEW.visible = 1
    ON CONFLICT (supplier_id, status) DO UPDATE SET orders = orders + 1;
END;

CREATE TRIGGER order_status_counts_delete AFTER DELETE ON purchase_orders
WHEN OLD.visible = 1
BEGIN
    UPDATE order_status_counts SET orders = orders - 1
    WHERE supplier_id = OLD.supplier_id AND status = OLD.status;
END;

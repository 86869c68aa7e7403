-- The inbox's orders per status, per supplier, kept in step with purchase_orders by
-- triggers: every writer (the poller, the supplier's answers, conflicts, visibility)
-- updates it in its own transaction, so the unfiltered inbox reads a few rows instead of
-- counting the supplier's orders on every view. Only visible orders count.
CREATE TABLE order_status_counts (
    supplier_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    orders BIGINT NOT NULL,
    PRIMARY KEY (supplier_id, status)
);

INSERT INTO order_status_counts (supplier_id, status, orders)
SELECT supplier_id, status, COUNT(*) FROM purchase_orders WHERE visible = 1 GROUP BY supplier_id, status;

CREATE FUNCTION order_status_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.visible = 1 THEN
            UPDATE order_status_counts SET orders = orders - 1
            WHERE supplier_id = OLD.supplier_id AND status = OLD.status;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.visible = 1 THEN
            INSERT INTO order_status_counts (supplier_id, status, orders) VALUES (NEW.supplier_id, NEW.status, 1)
            ON CONFLICT (supplier_id, status) DO UPDATE SET orders = order_status_counts.orders + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_status_counts_insert_delete AFTER INSERT OR DELETE ON purchase_orders
FOR EACH ROW EXECUTE FUNCTION order_status_counts_track();

CREATE TRIGGER order_status_counts_update AFTER UPDATE OF status, visible, supplier_id ON purchase_orders
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.visible IS DISTINCT FROM NEW.visible
                   OR OLD.supplier_id IS DISTINCT FROM NEW.supplier_id)
EXECUTE FUNCTION order_status_counts_track();

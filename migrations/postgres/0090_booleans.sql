-- Booleans as booleans (issue 12): the portal's flag columns become BOOLEAN. SQL is written
-- once for both backends (`WHERE visible`, `NOT active`, `SET paused = TRUE`); SQLite keeps
-- them INTEGER 0/1, which those forms read the same. What depended on the integer form goes
-- first: staff_only's CHECK, the count triggers that watch `visible` (a trigger's column list
-- pins the column's type) and the trigger functions comparing it with 1, which come back
-- comparing booleans.
DROP TRIGGER order_status_counts_update ON purchase_orders;
DROP TRIGGER order_origin_counts_order_update ON purchase_orders;
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_staff_only_check;

ALTER TABLE users
    ALTER COLUMN active DROP DEFAULT,
    ALTER COLUMN active TYPE BOOLEAN USING active <> 0,
    ALTER COLUMN active SET DEFAULT TRUE,
    ALTER COLUMN notify_orders DROP DEFAULT,
    ALTER COLUMN notify_orders TYPE BOOLEAN USING notify_orders <> 0,
    ALTER COLUMN notify_orders SET DEFAULT TRUE,
    ALTER COLUMN notify_digest DROP DEFAULT,
    ALTER COLUMN notify_digest TYPE BOOLEAN USING notify_digest <> 0,
    ALTER COLUMN notify_digest SET DEFAULT TRUE;
ALTER TABLE suppliers
    ALTER COLUMN notify_orders DROP DEFAULT,
    ALTER COLUMN notify_orders TYPE BOOLEAN USING notify_orders <> 0,
    ALTER COLUMN notify_orders SET DEFAULT TRUE;
ALTER TABLE purchase_orders
    ALTER COLUMN visible DROP DEFAULT,
    ALTER COLUMN visible TYPE BOOLEAN USING visible <> 0,
    ALTER COLUMN visible SET DEFAULT TRUE;
ALTER TABLE purchase_order_lines
    ALTER COLUMN removed_in_odoo DROP DEFAULT,
    ALTER COLUMN removed_in_odoo TYPE BOOLEAN USING removed_in_odoo <> 0,
    ALTER COLUMN removed_in_odoo SET DEFAULT FALSE;
ALTER TABLE receipts
    ALTER COLUMN lots_synced DROP DEFAULT,
    ALTER COLUMN lots_synced TYPE BOOLEAN USING lots_synced <> 0,
    ALTER COLUMN lots_synced SET DEFAULT FALSE;
ALTER TABLE events
    ALTER COLUMN staff_only DROP DEFAULT,
    ALTER COLUMN staff_only TYPE BOOLEAN USING staff_only <> 0,
    ALTER COLUMN staff_only SET DEFAULT FALSE;
ALTER TABLE planning_pulls
    ALTER COLUMN paused DROP DEFAULT,
    ALTER COLUMN paused TYPE BOOLEAN USING paused <> 0,
    ALTER COLUMN paused SET DEFAULT FALSE;

CREATE OR REPLACE FUNCTION order_status_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1835625727, 0);
    IF TG_OP <> 'INSERT' THEN
        IF OLD.visible THEN
            UPDATE order_status_counts SET orders = orders - 1
            WHERE supplier_id = OLD.supplier_id AND status = OLD.status;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.visible THEN
            INSERT INTO order_status_counts (supplier_id, status, orders) VALUES (NEW.supplier_id, NEW.status, 1)
            ON CONFLICT (supplier_id, status) DO UPDATE SET orders = order_status_counts.orders + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION order_origin_counts_header() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM order_origin_counts_add(
            (SELECT supplier_id FROM purchase_orders WHERE id = OLD.order_id AND visible),
            OLD.company_odoo_id, OLD.company_name, OLD.ship_to_key, OLD.ship_to_name, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM order_origin_counts_add(
            (SELECT supplier_id FROM purchase_orders WHERE id = NEW.order_id AND visible),
            NEW.company_odoo_id, NEW.company_name, NEW.ship_to_key, NEW.ship_to_name, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION order_origin_counts_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h order_headers%ROWTYPE;
BEGIN
    SELECT * INTO h FROM order_headers WHERE order_id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF OLD.visible THEN
        PERFORM order_origin_counts_add(OLD.supplier_id, h.company_odoo_id, h.company_name,
                                        h.ship_to_key, h.ship_to_name, -1);
    END IF;
    IF NEW.visible THEN
        PERFORM order_origin_counts_add(NEW.supplier_id, h.company_odoo_id, h.company_name,
                                        h.ship_to_key, h.ship_to_name, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_status_counts_update AFTER UPDATE OF status, visible, supplier_id ON purchase_orders
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.visible IS DISTINCT FROM NEW.visible
                   OR OLD.supplier_id IS DISTINCT FROM NEW.supplier_id)
EXECUTE FUNCTION order_status_counts_track();

CREATE TRIGGER order_origin_counts_order_update AFTER UPDATE OF visible, supplier_id ON purchase_orders
FOR EACH ROW WHEN (OLD.visible IS DISTINCT FROM NEW.visible OR OLD.supplier_id IS DISTINCT FROM NEW.supplier_id)
EXECUTE FUNCTION order_origin_counts_order();

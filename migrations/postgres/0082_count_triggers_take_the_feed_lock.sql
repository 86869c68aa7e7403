-- Keyed writers (db::write_keyed) run beside each other on PostgreSQL. The count rows the
-- triggers of 0040 and 0041 update are shared by every order of a supplier, so two keyed
-- writers could lock them in opposite orders (an order going from status A to B beside
-- one going from B to A) and deadlock. Each trigger now takes the feed lock first
-- (db::feed: the two-int advisory lock (1835625727, 0), held to commit), so count rows
-- are only ever updated by the one transaction holding it. Conservative writers
-- (db::write) exclude everyone anyway; for them the lock is free.
CREATE OR REPLACE FUNCTION order_status_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1835625727, 0);
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

CREATE OR REPLACE FUNCTION order_origin_counts_add(p_supplier BIGINT, p_company BIGINT, p_company_name TEXT,
                                                   p_ship_to_key TEXT, p_ship_to_name TEXT, p_delta BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_supplier IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(1835625727, 0);
    IF p_company IS NOT NULL AND p_company_name IS NOT NULL THEN
        INSERT INTO order_origin_counts AS c (supplier_id, kind, value, label, orders)
        VALUES (p_supplier, 'company', CAST(p_company AS TEXT), p_company_name, p_delta)
        ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = c.orders + p_delta;
    END IF;
    IF p_ship_to_key IS NOT NULL AND p_ship_to_name IS NOT NULL THEN
        INSERT INTO order_origin_counts AS c (supplier_id, kind, value, label, orders)
        VALUES (p_supplier, 'plant', p_ship_to_key, p_ship_to_name, p_delta)
        ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = c.orders + p_delta;
    END IF;
END
$$;

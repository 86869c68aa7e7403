-- The inbox's company and ship-to filter options, per supplier, with how many visible
-- orders carry each, kept in step with order_headers and purchase_orders by triggers (as
-- order_status_counts is), so the inbox does not read every order's header per view.
-- kind 'company': value is the company's Odoo id as text, label its name; kind 'plant':
-- value is order_headers.ship_to_key, label ship_to_name. Pairs with a NULL are not kept.
CREATE TABLE order_origin_counts (
    supplier_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    label TEXT NOT NULL,
    orders BIGINT NOT NULL,
    PRIMARY KEY (supplier_id, kind, value, label)
);

INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
SELECT o.supplier_id, 'company', CAST(h.company_odoo_id AS TEXT), h.company_name, COUNT(*)
FROM order_headers h JOIN purchase_orders o ON o.id = h.order_id
WHERE o.visible = 1 AND h.company_odoo_id IS NOT NULL AND h.company_name IS NOT NULL
GROUP BY o.supplier_id, h.company_odoo_id, h.company_name;
INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
SELECT o.supplier_id, 'plant', h.ship_to_key, h.ship_to_name, COUNT(*)
FROM order_headers h JOIN purchase_orders o ON o.id = h.order_id
WHERE o.visible = 1 AND h.ship_to_key IS NOT NULL AND h.ship_to_name IS NOT NULL
GROUP BY o.supplier_id, h.ship_to_key, h.ship_to_name;

-- Adds `p_delta` to the counts of one header's company and plant under `p_supplier`.
CREATE FUNCTION order_origin_counts_add(p_supplier BIGINT, p_company BIGINT, p_company_name TEXT,
                                        p_ship_to_key TEXT, p_ship_to_name TEXT, p_delta BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_supplier IS NULL THEN
        RETURN;
    END IF;
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

-- A header counts for its order's supplier while the order is visible.
CREATE FUNCTION order_origin_counts_header() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM order_origin_counts_add(
            (SELECT supplier_id FROM purchase_orders WHERE id = OLD.order_id AND visible = 1),
            OLD.company_odoo_id, OLD.company_name, OLD.ship_to_key, OLD.ship_to_name, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM order_origin_counts_add(
            (SELECT supplier_id FROM purchase_orders WHERE id = NEW.order_id AND visible = 1),
            NEW.company_odoo_id, NEW.company_name, NEW.ship_to_key, NEW.ship_to_name, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_origin_counts_header_insert_delete AFTER INSERT OR DELETE ON order_headers
FOR EACH ROW EXECUTE FUNCTION order_origin_counts_header();

CREATE TRIGGER order_origin_counts_header_update
AFTER UPDATE OF order_id, company_odoo_id, company_name, ship_to_key, ship_to_name ON order_headers
FOR EACH ROW WHEN (OLD.order_id IS DISTINCT FROM NEW.order_id
                   OR OLD.company_odoo_id IS DISTINCT FROM NEW.company_odoo_id
                   OR OLD.company_name IS DISTINCT FROM NEW.company_name
                   OR OLD.ship_to_key IS DISTINCT FROM NEW.ship_to_key
                   OR OLD.ship_to_name IS DISTINCT FROM NEW.ship_to_name)
EXECUTE FUNCTION order_origin_counts_header();

-- An order hidden, shown again or moved to another supplier takes its header along.
CREATE FUNCTION order_origin_counts_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h order_headers%ROWTYPE;
BEGIN
    SELECT * INTO h FROM order_headers WHERE order_id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF OLD.visible = 1 THEN
        PERFORM order_origin_counts_add(OLD.supplier_id, h.company_odoo_id, h.company_name,
                                        h.ship_to_key, h.ship_to_name, -1);
    END IF;
    IF NEW.visible = 1 THEN
        PERFORM order_origin_counts_add(NEW.supplier_id, h.company_odoo_id, h.company_name,
                                        h.ship_to_key, h.ship_to_name, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_origin_counts_order_update AFTER UPDATE OF visible, supplier_id ON purchase_orders
FOR EACH ROW WHEN (OLD.visible IS DISTINCT FROM NEW.visible OR OLD.supplier_id IS DISTINCT FROM NEW.supplier_id)
EXECUTE FUNCTION order_origin_counts_order();

-- The inbox's company and ship-to filter options, per supplier, with how many visible
-- orders carry each, kept in step with order_headers and purchase_orders by triggers (as
-- order_status_counts is), so the inbox does not read every order's header per view.
-- kind 'company': value is the company's Odoo id as text, label its name; kind 'plant':
-- value is order_headers.ship_to_key, label ship_to_name. Pairs with a NULL are not kept.
CREATE TABLE order_origin_counts (
    supplier_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    label TEXT NOT NULL,
    orders INTEGER NOT NULL,
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

-- A header counts for its order's supplier while the order is visible.
CREATE TRIGGER order_origin_counts_header_insert AFTER INSERT ON order_headers
BEGIN
    INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
    SELECT o.supplier_id, 'company', CAST(NEW.company_odoo_id AS TEXT), NEW.company_name, 1
    FROM purchase_orders o
    WHERE o.id = NEW.order_id AND o.visible = 1 AND NEW.company_odoo_id IS NOT NULL AND NEW.company_name IS NOT NULL
    ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = orders + 1;
    INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
    SELECT o.supplier_id, 'plant', NEW.ship_to_key, NEW.ship_to_name, 1
    FROM purchase_orders o
    WHERE o.id = NEW.order_id AND o.visible = 1 AND NEW.ship_to_key IS NOT NULL AND NEW.ship_to_name IS NOT NULL
    ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = orders + 1;
END;

CREATE TRIGGER order_origin_counts_header_update
AFTER UPDATE OF order_id, company_odoo_id, company_name, ship_to_key, ship_to_name ON order_headers
WHEN OLD.order_id IS NOT NEW.order_id OR OLD.company_odoo_id IS NOT NEW.company_odoo_id
  OR OLD.company_name IS NOT NEW.company_name OR OLD.ship_to_key IS NOT NEW.ship_to_key
  OR OLD.ship_to_name IS NOT NEW.ship_to_name
BEGIN
    UPDATE order_origin_counts SET orders = orders - 1
    WHERE kind = 'company' AND value = CAST(OLD.company_odoo_id AS TEXT) AND label = OLD.company_name
      AND supplier_id = (SELECT supplier_id FROM purchase_orders WHERE id = OLD.order_id AND visible = 1);
    UPDATE order_origin_counts SET orders = orders - 1
    WHERE kind = 'plant' AND value = OLD.ship_to_key AND label = OLD.ship_to_name
      AND supplier_id = (SELECT supplier_id FROM purchase_orders WHERE id = OLD.order_id AND visible = 1);
    INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
    SELECT o.supplier_id, 'company', CAST(NEW.company_odoo_id AS TEXT), NEW.company_name, 1
    FROM purchase_orders o
    WHERE o.id = NEW.order_id AND o.visible = 1 AND NEW.company_odoo_id IS NOT NULL AND NEW.company_name IS NOT NULL
    ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = orders + 1;
    INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
    SELECT o.supplier_id, 'plant', NEW.ship_to_key, NEW.ship_to_name, 1
    FROM purchase_orders o
    WHERE o.id = NEW.order_id AND o.visible = 1 AND NEW.ship_to_key IS NOT NULL AND NEW.ship_to_name IS NOT NULL
    ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = orders + 1;
END;

CREATE TRIGGER order_origin_counts_header_delete AFTER DELETE ON order_headers
BEGIN
    UPDATE order_origin_counts SET orders = orders - 1
    WHERE kind = 'company' AND value = CAST(OLD.company_odoo_id AS TEXT) AND label = OLD.company_name
      AND supplier_id = (SELECT supplier_id FROM purchase_orders WHERE id = OLD.order_id AND visible = 1);
    UPDATE order_origin_counts SET orders = orders - 1
    WHERE kind = 'plant' AND value = OLD.ship_to_key AND label = OLD.ship_to_name
      AND supplier_id = (SELECT supplier_id FROM purchase_orders WHERE id = OLD.order_id AND visible = 1);
END;

-- An order hidden, shown again or moved to another supplier takes its header along.
CREATE TRIGGER order_origin_counts_order_update AFTER UPDATE OF visible, supplier_id ON purchase_orders
WHEN OLD.visible IS NOT NEW.visible OR OLD.supplier_id IS NOT NEW.supplier_id
BEGIN
    UPDATE order_origin_counts SET orders = orders - 1
    WHERE OLD.visible = 1 AND supplier_id = OLD.supplier_id AND kind = 'company'
      AND EXISTS (SELECT 1 FROM order_headers h WHERE h.order_id = OLD.id
                  AND CAST(h.company_odoo_id AS TEXT) = order_origin_counts.value
                  AND h.company_name = order_origin_counts.label);
    UPDATE order_origin_counts SET orders = orders - 1
    WHERE OLD.visible = 1 AND supplier_id = OLD.supplier_id AND kind = 'plant'
      AND EXISTS (SELECT 1 FROM order_headers h WHERE h.order_id = OLD.id
                  AND h.ship_to_key = order_origin_counts.value
                  AND h.ship_to_name = order_origin_counts.label);
    INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
    SELECT NEW.supplier_id, 'company', CAST(h.company_odoo_id AS TEXT), h.company_name, 1
    FROM order_headers h
    WHERE h.order_id = NEW.id AND NEW.visible = 1 AND h.company_odoo_id IS NOT NULL AND h.company_name IS NOT NULL
    ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = orders + 1;
    INSERT INTO order_origin_counts (supplier_id, kind, value, label, orders)
    SELECT NEW.supplier_id, 'plant', h.ship_to_key, h.ship_to_name, 1
    FROM order_headers h
    WHERE h.order_id = NEW.id AND NEW.visible = 1 AND h.ship_to_key IS NOT NULL AND h.ship_to_name IS NOT NULL
    ON CONFLICT (supplier_id, kind, value, label) DO UPDATE SET orders = orders + 1;
END;

-- A notice holds each order line once. Notices stored before this rule with a line twice
-- keep one row with the quantities summed and the lots joined, then the rule is enforced.
UPDATE shipment_notice_lines AS keep SET
    quantity = (SELECT CAST(SUM(CAST(d.quantity AS NUMERIC)) AS TEXT) FROM shipment_notice_lines d
                WHERE d.notice_id = keep.notice_id AND d.line_id = keep.line_id),
    lot_numbers = (SELECT json_group_array(j.value) FROM shipment_notice_lines d, json_each(d.lot_numbers) j
                   WHERE d.notice_id = keep.notice_id AND d.line_id = keep.line_id)
WHERE keep.id IN (SELECT MIN(id) FROM shipment_notice_lines GROUP BY notice_id, line_id HAVING COUNT(*) > 1);
DELETE FROM shipment_notice_lines
WHERE id NOT IN (SELECT MIN(id) FROM shipment_notice_lines GROUP BY notice_id, line_id);
CREATE UNIQUE INDEX shipment_notice_lines_once ON shipment_notice_lines (notice_id, line_id);

-- Planners (issue 14): internal staff who work on the planning pages.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('supplier_admin', 'supplier_user', 'buyer', 'admin', 'planner'));

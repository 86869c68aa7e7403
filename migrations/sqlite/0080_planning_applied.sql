-- When every demand signal of an approved planning version was found applied, unchanged or
-- kept in Odoo: the `planning.version_applied` event is written once, in the transaction
-- that sets this.
ALTER TABLE planning_imports ADD COLUMN applied_at TEXT;

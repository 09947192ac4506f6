-- The `cf.group` a step was called in (see the SQLite store's 0009_step_groups.sql).
ALTER TABLE steps ADD COLUMN group_index bigint;
ALTER TABLE steps ADD COLUMN group_name text;

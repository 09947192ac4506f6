-- The `cf.group` a step was called in: numbered from 0 within its calling
-- execution, with the name it was given (NULL: unnamed). NULL index: no group.
-- Studio folds a group's steps into one node of the run's graph.
ALTER TABLE steps ADD COLUMN group_index INTEGER;
ALTER TABLE steps ADD COLUMN group_name TEXT;

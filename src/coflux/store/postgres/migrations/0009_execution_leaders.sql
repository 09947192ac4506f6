-- Who stands in for an execution (the SQLite store's 0013_execution_leaders.sql
-- says why): from a run's first execution back to the step that spawned it.
CREATE INDEX executions_by_leader ON executions (project_id, leader_id) WHERE leader_id IS NOT NULL;

-- Who stands in for an execution: a run's page says which step spawned it (the
-- caller's execution, *spawned*, has the run's first execution as its leader),
-- and that look-up goes from the leader back to its stand-ins. Only stand-ins
-- have a leader, so the partial index holds a few rows, not every execution.
CREATE INDEX executions_by_leader ON executions (leader_id) WHERE leader_id IS NOT NULL;

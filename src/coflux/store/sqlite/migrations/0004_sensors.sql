-- Sensors: an attempt may run with other arguments than its step's (a sensor
-- restarted from its last checkpoint), and checkpoints are kept as they come.
ALTER TABLE executions ADD COLUMN arguments TEXT;

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    execution_id TEXT NOT NULL
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    arguments TEXT NOT NULL,
    at REAL NOT NULL
) STRICT;

CREATE INDEX checkpoints_by_execution ON checkpoints (execution_id, id);

-- Inputs asked by executions (`cf.Prompt`, docs/inputs.md). `inputs` holds each
-- input as asked: `info` is its `protocol.InputInfo` as JSON (the environment name
-- in it is the one at asking time; reads name the current one, by the asking
-- execution's environment). `key` is unique per run: an input asked again is the
-- same input. `input_responses` holds its settlement, at most one row per input
-- (the orchestrator settles an input once): `kind` "responded" with `value` (the
-- answer as JSON), or "dismissed"; `by` says who.
CREATE TABLE inputs (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    execution_id TEXT NOT NULL REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    key TEXT NOT NULL,
    info TEXT NOT NULL,
    created_at REAL NOT NULL
) STRICT;

-- An input of a run by its key, and a run's inputs (the snapshot, a run's list).
CREATE UNIQUE INDEX inputs_by_run_key ON inputs (run_id, key);
-- The lists of a project, newest first.
CREATE INDEX inputs_by_time ON inputs (created_at, id);

CREATE TABLE input_responses (
    input_id TEXT PRIMARY KEY REFERENCES inputs (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    kind TEXT NOT NULL CHECK (kind IN ('responded', 'dismissed')),
    value TEXT,
    by TEXT NOT NULL,
    at REAL NOT NULL
) STRICT;

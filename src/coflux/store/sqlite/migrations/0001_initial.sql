-- The initial schema of a project's SQLite database.
--
-- Append-only: every state change is an inserted row with its time; nothing is
-- updated in place. The current state of something is its latest row, found
-- through an index on (owner, id). The one exception is `active_executions`, a
-- small working set kept so that restart cost grows with unfinished work rather
-- than with history (see the comment on it).
--
-- Records from `coflux.protocol` (values, options, outcomes, manifests) are
-- stored as msgspec JSON text, so the database stays readable with the sqlite3
-- shell and its JSON functions.
--
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED: they are checked when a batch
-- commits, so a batch is valid if it is consistent as a whole, whatever the order
-- of its facts.

-- One row: the project this file holds.
CREATE TABLE project (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at REAL NOT NULL
) STRICT;

CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL
) STRICT;

-- One row per EnvironmentRecorded; an environment's current state is its latest row.
CREATE TABLE environment_versions (
    id INTEGER PRIMARY KEY,
    environment_id TEXT NOT NULL
        REFERENCES environments (id) DEFERRABLE INITIALLY DEFERRED,
    name TEXT NOT NULL,
    base_id TEXT REFERENCES environments (id) DEFERRABLE INITIALLY DEFERRED,
    status TEXT NOT NULL,
    at REAL NOT NULL
) STRICT;

CREATE INDEX environment_versions_by_environment
    ON environment_versions (environment_id, id);

-- Manifest contents, deduplicated by the sha256 of their deterministic encoding.
CREATE TABLE manifests (
    hash TEXT PRIMARY KEY,
    manifest TEXT NOT NULL
) STRICT;

-- A row only when a repository's manifest in an environment changes: registering
-- the same manifest again records nothing.
CREATE TABLE manifest_registrations (
    id INTEGER PRIMARY KEY,
    environment_id TEXT NOT NULL
        REFERENCES environments (id) DEFERRABLE INITIALLY DEFERRED,
    repository TEXT NOT NULL,
    manifest_hash TEXT NOT NULL
        REFERENCES manifests (hash) DEFERRABLE INITIALLY DEFERRED,
    at REAL NOT NULL
) STRICT;

CREATE INDEX manifest_registrations_by_repository
    ON manifest_registrations (environment_id, repository, id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL
        REFERENCES environments (id) DEFERRABLE INITIALLY DEFERRED,
    concurrency INTEGER NOT NULL,
    provides TEXT NOT NULL,
    created_at REAL NOT NULL
) STRICT;

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL
        REFERENCES environments (id) DEFERRABLE INITIALLY DEFERRED,
    repository TEXT NOT NULL,
    target TEXT NOT NULL,
    idempotency_key TEXT,
    created_at REAL NOT NULL
) STRICT;

-- Submitting twice with one key starts one run; the index also serves the look-up.
CREATE UNIQUE INDEX runs_by_idempotency_key
    ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- list_runs: most recent first, optionally by target and/or environment.
CREATE INDEX runs_by_target ON runs (repository, target, created_at);
CREATE INDEX runs_by_environment ON runs (environment_id, created_at);
CREATE INDEX runs_by_created ON runs (created_at);

CREATE TABLE steps (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    number INTEGER NOT NULL,
    parent_execution_id TEXT
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    call_index INTEGER,
    repository TEXT NOT NULL,
    target TEXT NOT NULL,
    type TEXT NOT NULL,
    arguments TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (run_id, number),
    -- A resent submission after a reconnect must not create a second step. NULLs
    -- are distinct in a UNIQUE constraint, so root steps are unaffected.
    UNIQUE (parent_execution_id, call_index)
) STRICT;

CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    step_id TEXT NOT NULL REFERENCES steps (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    attempt INTEGER NOT NULL,
    environment_id TEXT NOT NULL
        REFERENCES environments (id) DEFERRABLE INITIALLY DEFERRED,
    due_at REAL NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (step_id, attempt)
) STRICT;

-- get_run reads a whole run's executions at once.
CREATE INDEX executions_by_run ON executions (run_id);

-- Every state an execution enters; its current state is its latest row.
CREATE TABLE execution_transitions (
    id INTEGER PRIMARY KEY,
    execution_id TEXT NOT NULL
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    state TEXT NOT NULL,
    session_id TEXT,
    at REAL NOT NULL
) STRICT;

CREATE INDEX execution_transitions_by_execution
    ON execution_transitions (execution_id, id);
CREATE INDEX execution_transitions_by_run ON execution_transitions (run_id);

CREATE TABLE outcomes (
    execution_id TEXT PRIMARY KEY
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    outcome TEXT NOT NULL,
    at REAL NOT NULL
) STRICT;

CREATE INDEX outcomes_by_run ON outcomes (run_id);

-- AUTOINCREMENT: ids are the clients' cursors, so they must only ever grow.
CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    execution_id TEXT NOT NULL
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    timestamp REAL NOT NULL,
    level TEXT NOT NULL,
    template TEXT NOT NULL,
    template_values TEXT NOT NULL
) STRICT;

CREATE INDEX logs_by_run ON logs (run_id, id);
CREATE INDEX logs_by_execution ON logs (execution_id, id);

-- The working set, and the one table that is not append-only: an execution is
-- inserted when it is created and deleted when it reaches a terminal state (both
-- inside `append`, in the same transaction as the facts). It duplicates what the
-- transitions say, so that loading a snapshot after a restart reads only
-- unfinished work instead of scanning every execution ever recorded.
CREATE TABLE active_executions (
    execution_id TEXT PRIMARY KEY
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED
) STRICT;

-- The initial schema of Coflux's PostgreSQL store: every project of a server in
-- one schema.
--
-- The same model as the SQLite store (see its migrations), with these choices:
--
-- * `project_id` leads every primary key, unique constraint and index, so a
--   project's rows are found through its own part of each index and two
--   projects' data cannot meet (a query that forgot the project would match no
--   index and show up in review, not just run slowly).
-- * Records from `coflux.protocol` are msgspec JSON kept as `text`, so a value
--   reads back byte for byte (`jsonb` would reorder keys and rewrite numbers).
--   A log template is free text from user code, which may hold NUL, a character
--   `text` cannot hold: it is kept as a JSON string.
-- * Times are `double precision`: `timestamptz` rounds to the microsecond, and
--   the engine compares the times it recorded exactly.
-- * Identifiers and names are `COLLATE "C"`: views order repositories, paths and
--   ids as SQLite does (by code point), whatever the database's collation, and
--   comparisons are cheaper.
-- * Where SQLite orders by rowid (append order), a table has an identity column:
--   `seq`, or `id` where the id is also a cursor (logs). The identities are shared
--   by all projects, so a project's ids grow but are not dense; with one writer
--   per project they grow in commit order, which is what a log cursor needs.
--
-- Append-only as in SQLite: a state change is an inserted row. The exceptions are
-- the same too: each execution's current-state columns, updated with every
-- transition in the same transaction, and `active_executions`, the working set.
--
-- References between a project's rows (a step's run, a transition's execution,
-- ...) are not foreign keys: PostgreSQL checks a foreign key with a query and a
-- row lock per inserted row, which made appending a batch of 1000 facts ten
-- times slower. The writer checks them instead, as SQLite's deferred foreign
-- keys would at commit: one statement at the end of each batch looks up every
-- id the batch names but does not create, and `coflux_unknown_references`
-- raises a foreign_key_violation naming those that do not exist, which aborts
-- the batch. The store is the schema's only writer.

CREATE FUNCTION coflux_unknown_references(missing text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'foreign_key_violation',
        MESSAGE = 'unknown references: ' || array_to_string(missing, ', ');
END
$$;

CREATE TABLE projects (
    id text COLLATE "C" PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    created_at double precision NOT NULL
);

-- Two servers (or requests) creating the same name at once: only one insert wins.
CREATE UNIQUE INDEX projects_by_name ON projects (name);

CREATE TABLE environments (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
    id text COLLATE "C" NOT NULL,
    created_at double precision NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX environments_in_order ON environments (project_id, seq);

CREATE TABLE environment_versions (
    project_id text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    environment_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    base_id text COLLATE "C",
    status text COLLATE "C" NOT NULL,
    at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX environment_versions_by_environment
    ON environment_versions (project_id, environment_id, id);

CREATE TABLE manifests (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
    hash text COLLATE "C" NOT NULL,
    manifest text NOT NULL,
    PRIMARY KEY (project_id, hash)
);

CREATE TABLE manifest_registrations (
    project_id text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    environment_id text COLLATE "C" NOT NULL,
    repository text COLLATE "C" NOT NULL,
    manifest_hash text COLLATE "C" NOT NULL,
    at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX manifest_registrations_by_repository
    ON manifest_registrations (project_id, environment_id, repository, id);

CREATE TABLE sessions (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    environment_id text COLLATE "C" NOT NULL,
    concurrency bigint NOT NULL,
    provides text NOT NULL,
    created_at double precision NOT NULL,
    secret_sha256 text COLLATE "C",
    PRIMARY KEY (project_id, id)
);

CREATE TABLE runs (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    environment_id text COLLATE "C" NOT NULL,
    repository text COLLATE "C" NOT NULL,
    target text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C",
    created_at double precision NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (project_id, id)
);

CREATE UNIQUE INDEX runs_by_idempotency_key
    ON runs (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- list_runs: most recent first (ties: the later one), optionally filtered.
CREATE INDEX runs_by_created ON runs (project_id, created_at, seq);
CREATE INDEX runs_by_target ON runs (project_id, repository, target, created_at, seq);
CREATE INDEX runs_by_environment ON runs (project_id, environment_id, created_at, seq);

CREATE TABLE steps (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    number bigint NOT NULL,
    parent_execution_id text COLLATE "C",
    call_index bigint,
    repository text COLLATE "C" NOT NULL,
    target text COLLATE "C" NOT NULL,
    type text COLLATE "C" NOT NULL,
    arguments text NOT NULL,
    options text NOT NULL,
    created_at double precision NOT NULL,
    cache_key text COLLATE "C",
    memo_key text COLLATE "C",
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, run_id, number),
    -- A resent call must not create a second step; root steps (NULLs) are distinct.
    UNIQUE (project_id, parent_execution_id, call_index)
);

CREATE INDEX steps_by_cache_key ON steps (project_id, cache_key) WHERE cache_key IS NOT NULL;
CREATE INDEX steps_by_memo_key ON steps (project_id, run_id, memo_key) WHERE memo_key IS NOT NULL;

CREATE TABLE executions (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    step_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    attempt bigint NOT NULL,
    environment_id text COLLATE "C" NOT NULL,
    due_at double precision NOT NULL,
    created_at double precision NOT NULL,
    -- Set when the attempt runs with other arguments than its step's (a sensor).
    arguments text,
    -- The current state (see the SQLite store's 0005_current_state.sql).
    state text COLLATE "C",
    state_at double precision,
    assigned_at double precision,
    session_id text COLLATE "C",
    -- The execution a stand-in follows (see 0007_stand_in_links.sql there).
    leader_id text COLLATE "C",
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, step_id, attempt)
);

CREATE INDEX executions_by_run ON executions (project_id, run_id);

CREATE TABLE execution_transitions (
    project_id text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    execution_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    state text COLLATE "C" NOT NULL,
    session_id text COLLATE "C",
    at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX execution_transitions_by_execution
    ON execution_transitions (project_id, execution_id, id);

CREATE TABLE outcomes (
    project_id text COLLATE "C" NOT NULL,
    execution_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    outcome text NOT NULL,
    at double precision NOT NULL,
    PRIMARY KEY (project_id, execution_id)
);

CREATE TABLE checkpoints (
    project_id text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    execution_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    arguments text NOT NULL,
    at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX checkpoints_by_execution ON checkpoints (project_id, execution_id, id);

-- `id` is the clients' cursor: it only ever grows (see the head of this file).
CREATE TABLE logs (
    project_id text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    run_id text COLLATE "C" NOT NULL,
    execution_id text COLLATE "C" NOT NULL,
    timestamp double precision NOT NULL,
    level text COLLATE "C" NOT NULL,
    template text NOT NULL,  -- a JSON string (see the head of this file)
    template_values text NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX logs_by_run ON logs (project_id, run_id, id);
CREATE INDEX logs_by_execution ON logs (project_id, execution_id, id);

-- The working set: inserted with an execution, deleted when it ends (a stand-in:
-- when its outcome is recorded), in the transaction of the facts. Loading a
-- snapshot reads only this and what it points at.
CREATE TABLE active_executions (
    project_id text COLLATE "C" NOT NULL,
    execution_id text COLLATE "C" NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (project_id, execution_id)
);

CREATE INDEX active_executions_in_order ON active_executions (project_id, seq);

CREATE TABLE assets (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    execution_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    file_count bigint NOT NULL,
    metadata text NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX assets_by_run ON assets (project_id, run_id, created_at);
CREATE INDEX assets_by_execution ON assets (project_id, execution_id);

CREATE TABLE asset_entries (
    project_id text COLLATE "C" NOT NULL,
    asset_id text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    blob text COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, asset_id, path)
);

CREATE TABLE asset_restores (
    project_id text COLLATE "C" NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    asset_id text COLLATE "C" NOT NULL,
    execution_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX asset_restores_by_run ON asset_restores (project_id, run_id, id);
CREATE INDEX asset_restores_by_asset ON asset_restores (project_id, asset_id, id);

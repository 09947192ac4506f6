-- Finding runs in all of a project's history (`GET .../runs`, docs/api.md, "Finding
-- runs"); the SQLite store's 0011_run_history.sql says what each part is for.
--
-- `runs.state`: the state of the latest execution of the run's first step, kept by
-- the batch function with each transition of such an execution (a new run is
-- inserted with it), as each execution's current state is; filled here for the
-- runs recorded before.
ALTER TABLE runs ADD COLUMN state text COLLATE "C";

UPDATE runs r SET state = (
    SELECT e.state FROM steps s
    JOIN executions e ON e.project_id = s.project_id AND e.step_id = s.id
    WHERE s.project_id = r.project_id AND s.run_id = r.id AND s.number = 1
    ORDER BY e.attempt DESC LIMIT 1
);

-- With 0001's, an index for each list a page is taken from: the project, an
-- environment, a workflow, or a workflow in an environment, each also by state.
CREATE INDEX runs_by_state ON runs (project_id, state, created_at, seq);
CREATE INDEX runs_by_environment_state ON runs (project_id, environment_id, state, created_at, seq);
CREATE INDEX runs_by_environment_target
    ON runs (project_id, environment_id, repository, target, created_at, seq);
CREATE INDEX runs_by_environment_target_state
    ON runs (project_id, environment_id, repository, target, state, created_at, seq);

-- A search by text: the first 10,000 characters of a first step's arguments as
-- recorded, matched with LIKE through a trigram index (pg_trgm; btree_gin lets the
-- index lead with the project, as every index here does). Both extensions ship
-- with PostgreSQL (contrib) and are trusted: a user who may create objects in the
-- database may create them. A database that has neither, or a user who may not, still
-- migrates: searches then read each run's arguments (correct, but slow on a long
-- history), and a warning says so; creating the extensions and this index later
-- (docs/api.md, "Finding runs") makes them fast.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE INDEX steps_by_root_arguments ON steps
        USING gin (project_id, left(arguments, 10000) gin_trgm_ops) WHERE number = 1;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR undefined_object THEN
    RAISE WARNING 'run search has no index (%): it reads every run''s arguments', SQLERRM;
END
$$;

-- The batch function keeps `runs.state` from now on.
CREATE OR REPLACE FUNCTION coflux_append(p text, e bigint, b jsonb) RETURNS void
LANGUAGE plpgsql AS $append$
DECLARE
    r record;
    missing text[];
BEGIN
    -- Only the holder of the project's lease at epoch e writes (leases.py); the
    -- share lock holds a takeover off until this batch has committed.
    PERFORM FROM project_leases WHERE project_id = p AND epoch = e FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CF001',
            MESSAGE = 'the lease at epoch ' || e || ' is no longer current';
    END IF;
    IF b ? 'environments' THEN
        INSERT INTO environments (project_id, "id", "created_at")
        SELECT p, "id", "created_at"
        FROM ROWS FROM (jsonb_to_recordset(b->'environments') AS ("id" text, "created_at" float8))
            WITH ORDINALITY AS u ("id", "created_at", _n)
        ORDER BY _n ON CONFLICT DO NOTHING;
    END IF;
    IF b ? 'environment_versions' THEN
        INSERT INTO environment_versions (project_id, "environment_id", "name", "base_id", "status", "at")
        SELECT p, "environment_id", "name", "base_id", "status", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'environment_versions') AS ("environment_id" text, "name" text, "base_id" text, "status" text, "at" float8))
            WITH ORDINALITY AS u ("environment_id", "name", "base_id", "status", "at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'sessions' THEN
        INSERT INTO sessions (project_id, "id", "environment_id", "concurrency", "provides", "created_at", "secret_sha256")
        SELECT p, "id", "environment_id", "concurrency", "provides", "created_at", "secret_sha256"
        FROM ROWS FROM (jsonb_to_recordset(b->'sessions') AS ("id" text, "environment_id" text, "concurrency" bigint, "provides" text, "created_at" float8, "secret_sha256" text))
            WITH ORDINALITY AS u ("id", "environment_id", "concurrency", "provides", "created_at", "secret_sha256", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'runs' THEN
        INSERT INTO runs (project_id, "id", "environment_id", "repository", "target", "idempotency_key", "created_at", "state")
        SELECT p, "id", "environment_id", "repository", "target", "idempotency_key", "created_at", "state"
        FROM ROWS FROM (jsonb_to_recordset(b->'runs') AS ("id" text, "environment_id" text, "repository" text, "target" text, "idempotency_key" text, "created_at" float8, "state" text))
            WITH ORDINALITY AS u ("id", "environment_id", "repository", "target", "idempotency_key", "created_at", "state", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'steps' THEN
        INSERT INTO steps (project_id, "id", "run_id", "number", "parent_execution_id", "call_index", "repository", "target", "type", "arguments", "options", "created_at", "cache_key", "memo_key", "group_index", "group_name")
        SELECT p, "id", "run_id", "number", "parent_execution_id", "call_index", "repository", "target", "type", "arguments", "options", "created_at", "cache_key", "memo_key", "group_index", "group_name"
        FROM ROWS FROM (jsonb_to_recordset(b->'steps') AS ("id" text, "run_id" text, "number" bigint, "parent_execution_id" text, "call_index" bigint, "repository" text, "target" text, "type" text, "arguments" text, "options" text, "created_at" float8, "cache_key" text, "memo_key" text, "group_index" bigint, "group_name" text))
            WITH ORDINALITY AS u ("id", "run_id", "number", "parent_execution_id", "call_index", "repository", "target", "type", "arguments", "options", "created_at", "cache_key", "memo_key", "group_index", "group_name", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'executions' THEN
        INSERT INTO executions (project_id, "id", "step_id", "run_id", "attempt", "environment_id", "due_at", "created_at", "arguments", "state", "state_at", "assigned_at", "session_id", "leader_id")
        SELECT p, "id", "step_id", "run_id", "attempt", "environment_id", "due_at", "created_at", "arguments", "state", "state_at", "assigned_at", "session_id", "leader_id"
        FROM ROWS FROM (jsonb_to_recordset(b->'executions') AS ("id" text, "step_id" text, "run_id" text, "attempt" bigint, "environment_id" text, "due_at" float8, "created_at" float8, "arguments" text, "state" text, "state_at" float8, "assigned_at" float8, "session_id" text, "leader_id" text))
            WITH ORDINALITY AS u ("id", "step_id", "run_id", "attempt", "environment_id", "due_at", "created_at", "arguments", "state", "state_at", "assigned_at", "session_id", "leader_id", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'active_executions' THEN
        INSERT INTO active_executions (project_id, "execution_id")
        SELECT p, "execution_id"
        FROM ROWS FROM (jsonb_to_recordset(b->'active_executions') AS ("execution_id" text))
            WITH ORDINALITY AS u ("execution_id", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'checkpoints' THEN
        INSERT INTO checkpoints (project_id, "execution_id", "run_id", "arguments", "at")
        SELECT p, "execution_id", "run_id", "arguments", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'checkpoints') AS ("execution_id" text, "run_id" text, "arguments" text, "at" float8))
            WITH ORDINALITY AS u ("execution_id", "run_id", "arguments", "at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'execution_transitions' THEN
        INSERT INTO execution_transitions (project_id, "execution_id", "run_id", "state", "session_id", "at")
        SELECT p, "execution_id", "run_id", "state", "session_id", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'execution_transitions') AS ("execution_id" text, "run_id" text, "state" text, "session_id" text, "at" float8))
            WITH ORDINALITY AS u ("execution_id", "run_id", "state", "session_id", "at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'outcomes' THEN
        INSERT INTO outcomes (project_id, "execution_id", "run_id", "outcome", "at")
        SELECT p, "execution_id", "run_id", "outcome", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'outcomes') AS ("execution_id" text, "run_id" text, "outcome" text, "at" float8))
            WITH ORDINALITY AS u ("execution_id", "run_id", "outcome", "at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'logs' THEN
        INSERT INTO logs (project_id, "run_id", "execution_id", "timestamp", "level", "template", "template_values")
        SELECT p, "run_id", "execution_id", "timestamp", "level", "template", "template_values"
        FROM ROWS FROM (jsonb_to_recordset(b->'logs') AS ("run_id" text, "execution_id" text, "timestamp" float8, "level" text, "template" text, "template_values" text))
            WITH ORDINALITY AS u ("run_id", "execution_id", "timestamp", "level", "template", "template_values", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'assets' THEN
        INSERT INTO assets (project_id, "id", "execution_id", "run_id", "kind", "path", "size", "file_count", "metadata", "created_at")
        SELECT p, "id", "execution_id", "run_id", "kind", "path", "size", "file_count", "metadata", "created_at"
        FROM ROWS FROM (jsonb_to_recordset(b->'assets') AS ("id" text, "execution_id" text, "run_id" text, "kind" text, "path" text, "size" bigint, "file_count" bigint, "metadata" text, "created_at" float8))
            WITH ORDINALITY AS u ("id", "execution_id", "run_id", "kind", "path", "size", "file_count", "metadata", "created_at", _n)
        ORDER BY _n ON CONFLICT DO NOTHING;
    END IF;
    IF b ? 'asset_entries' THEN
        INSERT INTO asset_entries (project_id, "asset_id", "path", "size", "blob")
        SELECT p, "asset_id", "path", "size", "blob"
        FROM ROWS FROM (jsonb_to_recordset(b->'asset_entries') AS ("asset_id" text, "path" text, "size" bigint, "blob" text))
            WITH ORDINALITY AS u ("asset_id", "path", "size", "blob", _n)
        ORDER BY _n ON CONFLICT DO NOTHING;
    END IF;
    IF b ? 'asset_restores' THEN
        INSERT INTO asset_restores (project_id, "asset_id", "execution_id", "run_id", "at")
        SELECT p, "asset_id", "execution_id", "run_id", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'asset_restores') AS ("asset_id" text, "execution_id" text, "run_id" text, "at" float8))
            WITH ORDINALITY AS u ("asset_id", "execution_id", "run_id", "at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'metrics' THEN
        INSERT INTO metrics (project_id, "execution_id", "key", "run_id", "definition", "created_at")
        SELECT p, "execution_id", "key", "run_id", "definition", "created_at"
        FROM ROWS FROM (jsonb_to_recordset(b->'metrics') AS ("execution_id" text, "key" text, "run_id" text, "definition" text, "created_at" float8))
            WITH ORDINALITY AS u ("execution_id", "key", "run_id", "definition", "created_at", _n)
        ORDER BY _n ON CONFLICT DO NOTHING;
    END IF;
    IF b ? 'metric_points' THEN
        INSERT INTO metric_points (project_id, "run_id", "execution_id", "key", "value", "at")
        SELECT p, "run_id", "execution_id", "key", "value", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'metric_points') AS ("run_id" text, "execution_id" text, "key" text, "value" float8, "at" float8))
            WITH ORDINALITY AS u ("run_id", "execution_id", "key", "value", "at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'current' THEN
        FOR r IN SELECT * FROM jsonb_to_recordset(b->'current')
            AS (id text, state text, at float8, assigned_at float8, session_id text)
        LOOP
            UPDATE executions SET state = r.state, state_at = r.at,
                assigned_at = coalesce(r.assigned_at, assigned_at),
                session_id = coalesce(r.session_id, session_id)
            WHERE project_id = p AND id = r.id;
        END LOOP;
    END IF;
    IF b ? 'run_states' THEN
        FOR r IN SELECT * FROM jsonb_to_recordset(b->'run_states') AS (id text, state text)
        LOOP
            UPDATE runs SET state = r.state WHERE project_id = p AND id = r.id;
        END LOOP;
    END IF;
    IF b ? 'leaving' THEN
        FOR r IN SELECT jsonb_array_elements_text(b->'leaving') AS id LOOP
            DELETE FROM active_executions WHERE project_id = p AND execution_id = r.id;
        END LOOP;
    END IF;
    -- The references the batch does not create itself must exist already.
    IF b ? 'named' THEN
        FOR r IN SELECT * FROM jsonb_to_recordset(b->'named') AS (kind text, id text) LOOP
            CASE r.kind
            WHEN 'environment' THEN PERFORM FROM environments WHERE project_id = p AND id = r.id;
            WHEN 'run' THEN PERFORM FROM runs WHERE project_id = p AND id = r.id;
            WHEN 'step' THEN PERFORM FROM steps WHERE project_id = p AND id = r.id;
            WHEN 'execution' THEN PERFORM FROM executions WHERE project_id = p AND id = r.id;
            WHEN 'asset' THEN PERFORM FROM assets WHERE project_id = p AND id = r.id;
            END CASE;
            IF NOT FOUND THEN
                missing := array_append(missing, r.kind || ' ' || r.id);
            END IF;
        END LOOP;
        IF missing IS NOT NULL THEN
            PERFORM coflux_unknown_references(missing);
        END IF;
    END IF;
END
$append$;

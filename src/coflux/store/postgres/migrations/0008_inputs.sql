-- Inputs asked by executions (`cf.Prompt`, docs/inputs.md; the SQLite store's
-- 0012_inputs.sql). `inputs` holds each input as asked (`info`: its
-- `protocol.InputInfo` as JSON), its key unique per run; `input_responses` its
-- settlement, at most one per input: "responded" with the answer's JSON `value`,
-- or "dismissed", with who (`by`) and when.

CREATE TABLE inputs (
    project_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    execution_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    info text NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (project_id, id)
);

-- An input of a run by its key, and a run's inputs (the snapshot, a run's list).
CREATE UNIQUE INDEX inputs_by_run_key ON inputs (project_id, run_id, key);
-- The lists of a project, newest first.
CREATE INDEX inputs_by_time ON inputs (project_id, created_at, id);

CREATE TABLE input_responses (
    project_id text COLLATE "C" NOT NULL,
    input_id text COLLATE "C" NOT NULL,
    run_id text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('responded', 'dismissed')),
    value text,
    by text NOT NULL,
    at double precision NOT NULL,
    PRIMARY KEY (project_id, input_id)
);

-- The batch function writes both tables from now on, and checks the inputs a
-- response names.
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
    IF b ? 'inputs' THEN
        INSERT INTO inputs (project_id, "id", "run_id", "execution_id", "key", "info", "created_at")
        SELECT p, "id", "run_id", "execution_id", "key", "info", "created_at"
        FROM ROWS FROM (jsonb_to_recordset(b->'inputs') AS ("id" text, "run_id" text, "execution_id" text, "key" text, "info" text, "created_at" float8))
            WITH ORDINALITY AS u ("id", "run_id", "execution_id", "key", "info", "created_at", _n)
        ORDER BY _n;
    END IF;
    IF b ? 'input_responses' THEN
        INSERT INTO input_responses (project_id, "input_id", "run_id", "kind", "value", "by", "at")
        SELECT p, "input_id", "run_id", "kind", "value", "by", "at"
        FROM ROWS FROM (jsonb_to_recordset(b->'input_responses') AS ("input_id" text, "run_id" text, "kind" text, "value" text, "by" text, "at" float8))
            WITH ORDINALITY AS u ("input_id", "run_id", "kind", "value", "by", "at", _n)
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
            WHEN 'input' THEN PERFORM FROM inputs WHERE project_id = p AND id = r.id;
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

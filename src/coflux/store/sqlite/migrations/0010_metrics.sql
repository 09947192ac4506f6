-- Metrics recorded by executions (docs/metrics.md). `metrics` holds each metric's
-- definition (a `protocol.MetricDefinition` as JSON), once per execution and key;
-- `metric_points` every point, in the order recorded: `id` is the clients' cursor.
-- The orchestrator keeps both within their bounds per execution (at most 100 keys
-- and 100,000 points), and a metric's points in strictly increasing `at`, so its
-- latest point is also its last by id.
CREATE TABLE metrics (
    execution_id TEXT NOT NULL REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    key TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    definition TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (execution_id, key)
) STRICT;

CREATE INDEX metrics_by_run ON metrics (run_id);

CREATE TABLE metric_points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    execution_id TEXT NOT NULL
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    key TEXT NOT NULL,
    value REAL NOT NULL,
    at REAL NOT NULL
) STRICT;

-- Pages of a run, pages of an execution, and each metric's count and latest point.
CREATE INDEX metric_points_by_run ON metric_points (run_id, id);
CREATE INDEX metric_points_by_execution ON metric_points (execution_id, id);
CREATE INDEX metric_points_by_metric ON metric_points (execution_id, key, id);

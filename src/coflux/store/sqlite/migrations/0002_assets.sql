-- Assets: files and directories that executions persisted, and their restores.
--
-- An asset is immutable once recorded: its files (entries) are rows of
-- `asset_entries`, each naming the blob (sha256 key) that holds its content.
-- Ids are chosen by the executor that persists the asset, so a request resent
-- after a reconnect records nothing new (hence ON CONFLICT DO NOTHING in the
-- writes).

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL
) STRICT;

CREATE INDEX assets_by_run ON assets (run_id, created_at);
CREATE INDEX assets_by_execution ON assets (execution_id);

-- Relative paths (POSIX separators) inside the asset's base directory.
CREATE TABLE asset_entries (
    asset_id TEXT NOT NULL REFERENCES assets (id) DEFERRABLE INITIALLY DEFERRED,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (asset_id, path)
) WITHOUT ROWID, STRICT;

-- One row each time an execution restored an asset.
CREATE TABLE asset_restores (
    id INTEGER PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id) DEFERRABLE INITIALLY DEFERRED,
    execution_id TEXT NOT NULL
        REFERENCES executions (id) DEFERRABLE INITIALLY DEFERRED,
    run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    at REAL NOT NULL
) STRICT;

CREATE INDEX asset_restores_by_run ON asset_restores (run_id, id);
CREATE INDEX asset_restores_by_asset ON asset_restores (asset_id, id);

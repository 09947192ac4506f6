-- Cache and memo keys of steps (run semantics): look-ups by key must be indexed.
ALTER TABLE steps ADD COLUMN cache_key TEXT;
ALTER TABLE steps ADD COLUMN memo_key TEXT;

CREATE INDEX steps_by_cache_key ON steps (cache_key) WHERE cache_key IS NOT NULL;
CREATE INDEX steps_by_memo_key ON steps (run_id, memo_key) WHERE memo_key IS NOT NULL;

-- Finding runs in all of a project's history (`GET .../runs`, docs/api.md, "Finding
-- runs"): filtered by state, workflow, time and text, in pages, each through an
-- index, so that a page costs what it shows, not what the history holds.
--
-- `runs.state` is the run's state: that of the latest execution of its first step
-- (what `RunSummary.state` shows). The writer keeps it with every transition of
-- such an execution (`writes._transitions`), as it keeps `executions.state`
-- (0005_current_state.sql), so that filtering by state reads an index instead of
-- each run's root execution. Only an execution's latest attempt ever transitions
-- (an older one is terminal before the next is made), so the last such transition
-- is the latest attempt's. Filled here for the runs recorded before.
ALTER TABLE runs ADD COLUMN state TEXT;

UPDATE runs SET state = (
    SELECT e.state FROM steps s JOIN executions e ON e.step_id = s.id
    WHERE s.run_id = runs.id AND s.number = 1
    ORDER BY e.attempt DESC LIMIT 1
);

-- With 0001's, an index for each list a page is taken from, in creation order
-- (every SQLite index ends with the rowid, which breaks ties of `created_at`):
-- the project, an environment, a workflow, or a workflow in an environment,
-- each of them also by state. A filter on several states reads each state's
-- part of the index and merges them (`reading.ReadingStore.find_runs`).
CREATE INDEX runs_by_state ON runs (state, created_at);
CREATE INDEX runs_by_environment_state ON runs (environment_id, state, created_at);
CREATE INDEX runs_by_environment_target
    ON runs (environment_id, repository, target, created_at);
CREATE INDEX runs_by_environment_target_state
    ON runs (environment_id, repository, target, state, created_at);

-- What a search finds a run by besides its id: the first 10,000 characters of its
-- first step's arguments as recorded (`steps.arguments`, their JSON), indexed by
-- every substring of three characters (FTS5's trigram tokenizer, case-sensitive),
-- so that a search for a text of three or more characters finds the runs that
-- contain it exactly, in a lookup rather than a scan. The row's rowid is its run's.
-- Contentless (`content = ''`): the text is in `steps` already. The writer adds a
-- row with each first step (`writes._steps`); the runs recorded before are added here.
CREATE VIRTUAL TABLE run_texts USING fts5 (
    text, tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0
);

INSERT INTO run_texts (rowid, text)
SELECT r.rowid, substr(s.arguments, 1, 10000)
FROM runs r JOIN steps s ON s.run_id = r.id AND s.number = 1;

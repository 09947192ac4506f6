-- Indices no query uses: every read of transitions and outcomes goes by
-- execution, and each of these cost an index insert per row written (three
-- transitions and an outcome per step).
DROP INDEX IF EXISTS execution_transitions_by_run;
DROP INDEX IF EXISTS outcomes_by_run;

-- Each execution's current state on its own row: the latest transition's state
-- and time, the time of the latest `assigned`, and the latest session named by a
-- transition. The writer keeps them with every transition it appends
-- (`writes._transitions`), so reading a run costs one row per execution instead
-- of a fold over its transitions. Rows written before this migration are filled
-- from their transitions here.
ALTER TABLE executions ADD COLUMN state TEXT;
ALTER TABLE executions ADD COLUMN state_at REAL;
ALTER TABLE executions ADD COLUMN assigned_at REAL;
ALTER TABLE executions ADD COLUMN session_id TEXT;

UPDATE executions SET
    (state, state_at) = (
        SELECT state, at FROM execution_transitions
        WHERE execution_id = executions.id ORDER BY id DESC LIMIT 1
    ),
    assigned_at = (
        SELECT at FROM execution_transitions
        WHERE execution_id = executions.id AND state = 'assigned' ORDER BY id DESC LIMIT 1
    ),
    session_id = (
        SELECT session_id FROM execution_transitions
        WHERE execution_id = executions.id AND session_id IS NOT NULL ORDER BY id DESC LIMIT 1
    );

-- The sha256 of each session's resume secret: only the agent holding the secret
-- can resume the session, after a restart too. Sessions recorded before this
-- migration have none, so no one can resume them: their agents start new ones,
-- and what those sessions held is abandoned when they expire.
ALTER TABLE sessions ADD COLUMN secret_sha256 TEXT;

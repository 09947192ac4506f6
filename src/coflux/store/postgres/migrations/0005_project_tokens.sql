-- Project tokens in the database (store/postgres/tokens.py), so that every server
-- sharing it knows the same tokens: one created or revoked through any server opens,
-- or stops opening, its project on all of them (server/tokens.py says how soon).
--
-- Only the sha256 of a token's secret is kept. Append-only, like the rest of the
-- schema: a revocation is a row of its own, and the primary key keeps the first
-- one when two servers revoke a token at once. Nothing is deleted, which is what
-- lets a server learn whether anything changed by counting the rows of both tables.
--
-- Unlike a project's rows, a token is keyed by its id alone: a request's token names
-- no project, and every server reads all of them (they are few).

CREATE TABLE project_tokens (
    id text COLLATE "C" PRIMARY KEY,
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
    secret_sha256 text NOT NULL,
    environments text[],  -- names; NULL: every environment of the project
    read_only boolean NOT NULL,
    description text NOT NULL,
    created_at double precision NOT NULL
);

CREATE TABLE project_token_revocations (
    token_id text COLLATE "C" PRIMARY KEY REFERENCES project_tokens (id),
    revoked_at double precision NOT NULL
);

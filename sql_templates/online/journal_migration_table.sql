-- The journal of online migrations: one row per migration, with what was asked (never the key).
-- Parameters: none.
CREATE TABLE IF NOT EXISTS uuidpk.online_migration (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    state       text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'aborted')),
    options     jsonb NOT NULL
)

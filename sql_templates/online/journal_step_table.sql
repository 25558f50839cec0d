-- Every step of a migration as it was rendered when the migration started: a resumed run runs
-- these statements, not a new plan (the catalog then holds shadows and triggers).
-- Parameters: none.
CREATE TABLE IF NOT EXISTS uuidpk.online_step (
    migration_id bigint NOT NULL REFERENCES uuidpk.online_migration (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    id           text NOT NULL,
    phase        text NOT NULL,
    spec         jsonb NOT NULL,
    done_at      timestamptz,
    seconds      double precision,
    PRIMARY KEY (migration_id, position),
    UNIQUE (migration_id, id)
)

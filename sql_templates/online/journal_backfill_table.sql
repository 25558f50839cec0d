-- Per backfill step: its end (read once, after the trigger exists) and the high-water mark of
-- the last committed batch, written in that batch's own transaction.
-- Parameters: none.
CREATE TABLE IF NOT EXISTS uuidpk.online_backfill (
    migration_id bigint NOT NULL,
    step_id      text NOT NULL,
    bound        text,
    high_water   text,
    rows_done    bigint NOT NULL DEFAULT 0,
    rows_total   bigint NOT NULL DEFAULT 0,
    batches      integer NOT NULL DEFAULT 0,
    seconds      double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (migration_id, step_id),
    FOREIGN KEY (migration_id, step_id) REFERENCES uuidpk.online_step (migration_id, id)
        ON DELETE CASCADE
)

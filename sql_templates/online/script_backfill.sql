-- A psql script's backfill of one table, as apply --online runs it: a procedure in pg_temp
-- (gone with the session whatever happens) that COMMITs after every keyset batch, which
-- PostgreSQL allows only when CALL runs outside a transaction block (psql's autocommit).
-- - The end is read once, now that the fill trigger exists (rows written later were filled by
--   it, so the backfill ends under constant inserts), and kept in the journal with each
--   batch's high-water mark, in the batch's transaction: run again, it goes on from there.
-- - batch_size NULL: each batch is sized to take about 100 ms (GitLab's budget for a query in a
--   migration), from the last one's clock_timestamp(), changing by at most a factor of 2.
-- - A batch waiting on an application's row lock holds the rows it already updated: it waits
--   {lock_timeout} at most, rolls back (a subtransaction) and starts again after a pause; after
--   {total} of failures in a row it fails in one line and ON_ERROR_STOP ends the script.
-- No statement in the body names a variable's name as a column: variables start with v_.
-- Parameters: {tag} a dollar-quote tag; {name} the procedure; {step} the step id (literal);
-- {migration} script_migration.sql; {bound}, {batch} the step's statements (literals; the
-- batch takes $1 after, $2 bound, $3 size); {rows} the table's estimated rows; {by_pages}
-- true when batches are ctid page ranges; {start}, {least} the first and smallest batch;
-- {replica} set_config of session_replication_role or nothing; {lock_timeout}, {total}
-- (literals); {done} the journal's mark of the step.
CREATE PROCEDURE {name}(batch_size integer)
LANGUAGE plpgsql AS {tag}
DECLARE
    v_migration bigint := {migration};
    v_bound text;
    v_high text;
    v_next text;
    v_rows bigint;
    v_total bigint;
    v_size integer := coalesce(batch_size, {start});
    v_began timestamptz;
    v_took double precision;
    v_failed timestamptz;
    v_attempt integer := 0;
BEGIN
    IF NOT EXISTS (SELECT FROM uuidpk.online_backfill b
                    WHERE b.migration_id = v_migration AND b.step_id = {step}) THEN
        EXECUTE {bound} INTO v_bound;
        INSERT INTO uuidpk.online_backfill (migration_id, step_id, bound, rows_total)
        VALUES (v_migration, {step}, v_bound, {rows});
        COMMIT;
    END IF;
    SELECT b.bound, b.high_water, b.rows_done INTO v_bound, v_high, v_total
      FROM uuidpk.online_backfill b WHERE b.migration_id = v_migration AND b.step_id = {step};
    WHILE v_bound IS NOT NULL
          AND NOT ({by_pages} AND v_high IS NOT NULL AND v_high::bigint >= v_bound::bigint) LOOP
        v_began := clock_timestamp();
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', {lock_timeout}, true);
{replica}
            EXECUTE {batch} INTO v_next, v_rows USING v_high, v_bound, v_size;
            IF v_rows > 0 OR {by_pages} THEN
                UPDATE uuidpk.online_backfill b
                   SET high_water = v_next, rows_done = b.rows_done + v_rows,
                       batches = b.batches + 1,
                       seconds = b.seconds + extract(epoch FROM clock_timestamp() - v_began)
                 WHERE b.migration_id = v_migration AND b.step_id = {step};
            END IF;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            v_rows := NULL;
        END;
        -- Each batch its own short transaction: its row locks go now.
        COMMIT;
        IF v_rows IS NULL THEN
            v_attempt := v_attempt + 1;
            v_failed := coalesce(v_failed, v_began);
            IF clock_timestamp() - v_failed >= {total}::interval THEN
                RAISE EXCEPTION 'step %: a batch could not take its row locks in % (% attempts); the batches before it stay done: run the script again from this step''s marker',
                    {step}, {total}, v_attempt;
            END IF;
            PERFORM pg_catalog.pg_sleep(least(0.5, 0.02 * 2 ^ least(v_attempt, 5)) * (0.5 + random()));
            CONTINUE;
        END IF;
        v_attempt := 0;
        v_failed := NULL;
        EXIT WHEN v_rows = 0 AND NOT {by_pages};
        v_high := v_next;
        v_total := v_total + v_rows;
        v_took := extract(epoch FROM clock_timestamp() - v_began);
        IF batch_size IS NULL THEN
            v_size := greatest({least}, least(100000,
                (v_size * greatest(0.5, least(2.0, 0.1 / greatest(v_took, 0.001))))::integer));
        END IF;
        RAISE NOTICE '%: % rows', {step}, v_total;
    END LOOP;
    {done};
    COMMIT;
END
{tag}

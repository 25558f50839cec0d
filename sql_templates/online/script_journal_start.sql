-- A psql script's run in the journal, as apply --online records one, so that uuidpk status and
-- uuidpk abort see it (and apply --online with the same selection continues it). The script's
-- session holds the migration lock (advisory.py) until it ends: a second run is refused, as
-- apply refuses one. Run again, the script finds its running migration and goes on; once that
-- is done or aborted, the same script starts a new one.
-- Parameters: {tag} a dollar-quote tag; {migration} script_migration.sql; {options} the
-- migration's options (jsonb literal); {lock_class}, {lock_id} the migration lock.
DO {tag}
BEGIN
    IF NOT pg_catalog.pg_try_advisory_lock({lock_class}, {lock_id}) THEN
        RAISE EXCEPTION 'another uuidpk migration is running on this database: wait for it to finish (uuidpk status shows online ones)';
    END IF;
    IF {migration} IS NULL THEN
        IF EXISTS (SELECT FROM uuidpk.online_migration m WHERE m.state = 'running') THEN
            RAISE EXCEPTION 'an online migration is in progress: continue it with the command or script that started it, or uuidpk abort it';
        END IF;
        INSERT INTO uuidpk.online_migration (options) VALUES ({options}::jsonb);
    END IF;
END
{tag}

-- One transaction step of a psql script, with the lock retries apply --online has: each attempt
-- is a subtransaction under a short lock_timeout. On a lock timeout or a deadlock it rolls back
-- (its locks go, and with them its place in the lock queue: a waiting ACCESS EXCLUSIVE request
-- holds up every later reader of the table), sleeps a jittered pause that grows, and tries
-- again with a somewhat longer timeout, until {total} has passed; then it fails in one line
-- and psql's ON_ERROR_STOP ends the script. The DO block is its own transaction (psql
-- autocommit): the statements and the journal's mark commit together, or nothing does.
-- Parameters: {tag} a dollar-quote tag absent from the body; {step} the step id (literal);
-- {first}, {most} lock_timeout in milliseconds (first attempt, at most); {total} the time to
-- give up after (interval literal); {statements} EXECUTE lines; {done} the journal's mark.
DO {tag}
DECLARE
    timeout_ms double precision := {first};
    deadline timestamptz := clock_timestamp() + {total}::interval;
    attempt integer := 0;
BEGIN
    LOOP
        attempt := attempt + 1;
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', round(timeout_ms)::text || 'ms', true);
{statements}
            {done};
            RETURN;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            IF clock_timestamp() >= deadline THEN
                RAISE EXCEPTION 'step %: could not take its locks in % (% attempts; last: %); nothing of this step happened: run the script again from this step''s marker when the database is quieter',
                    {step}, {total}, attempt, SQLERRM;
            END IF;
            RAISE NOTICE 'step %: lock not available, retry %', {step}, attempt;
            PERFORM pg_catalog.pg_sleep(least(
                extract(epoch FROM deadline - clock_timestamp()),
                least(0.5, 0.02 * 2 ^ least(attempt, 5)) * (0.5 + random())));
            timeout_ms := least({most}, timeout_ms * 1.5);
        END;
    END LOOP;
END
{tag}

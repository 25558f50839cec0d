-- A psql script's step is done: in the step's own transaction when it has one.
-- Parameters: {migration} script_migration.sql; {step} the step id (literal); {since} when the
-- step began (a timestamptz expression).
UPDATE uuidpk.online_step
   SET done_at = clock_timestamp(), seconds = extract(epoch FROM clock_timestamp() - {since})
 WHERE migration_id = {migration} AND id = {step}

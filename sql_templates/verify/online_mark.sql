-- Mark the current run as an online migration's fingerprint: taken in the proof's snapshot,
-- closed at the migration's end (online_close.sql). It names no journal entry: a `generate
-- --online` script keeps no journal, and online_run.sql finds a migration's run by time.
-- Parameters: {run} current_run.sql.
UPDATE uuidpk.fingerprint_run
   SET online = jsonb_build_object('state', 'proved')
 WHERE id = {run}

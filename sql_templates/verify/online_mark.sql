-- Mark the current run as the fingerprint of the online migration running: taken in the
-- proof's snapshot, to be closed at the migration's end (online_close.sql).
-- Parameters: {run} current_run.sql.
UPDATE uuidpk.fingerprint_run
   SET online = jsonb_build_object(
           'migration', (SELECT m.id FROM uuidpk.online_migration AS m
                          WHERE m.state = 'running' ORDER BY m.id DESC LIMIT 1),
           'state', 'proved')
 WHERE id = {run}

-- Parameters: none. Bind: %(migration)s. Columns: id, phase, spec, done_at, seconds.
SELECT id, phase, spec, done_at, seconds FROM uuidpk.online_step
 WHERE migration_id = %(migration)s ORDER BY position

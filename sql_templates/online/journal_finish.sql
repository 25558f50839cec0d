-- Parameters: none. Bind: %(migration)s, %(state)s done or aborted.
UPDATE uuidpk.online_migration SET state = %(state)s, finished_at = clock_timestamp()
 WHERE id = %(migration)s

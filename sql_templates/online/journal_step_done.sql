-- Parameters: none. Bind: %(migration)s, %(id)s, %(seconds)s.
UPDATE uuidpk.online_step SET done_at = clock_timestamp(), seconds = %(seconds)s
 WHERE migration_id = %(migration)s AND id = %(id)s

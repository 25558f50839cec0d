-- The fingerprint run this session started last (insert_run.sql): currval() is the session's
-- own, so two migrations recording at once never mix their values.
-- Parameters: none.
currval(pg_get_serial_sequence('uuidpk.fingerprint_run', 'id'))

-- One fingerprint run: the one asked for, or the latest when run_id is NULL.
-- Parameters: %(run_id)s bigint or NULL.
-- Columns: id, taken_at, spec, status
SELECT id, taken_at, spec, status
  FROM uuidpk.fingerprint_run
 WHERE %(run_id)s::int8 IS NULL OR id = %(run_id)s::int8
 ORDER BY id DESC
 LIMIT 1

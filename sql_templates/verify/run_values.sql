-- The values measured by one fingerprint run.
-- Parameters: %(run_id)s.
-- Columns: kind, object, row_count, hash
SELECT kind, object, row_count, hash
  FROM uuidpk.fingerprint
 WHERE run_id = %(run_id)s
 ORDER BY kind, object

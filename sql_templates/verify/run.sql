-- One fingerprint run: the one asked for, or the latest when run_id is NULL. schema_after and
-- problems_before read through to_jsonb(), so a table an earlier uuidpk made without them reads
-- as NULLs rather than failing (verify writes nothing, so it never adds them itself).
-- Parameters: %(run_id)s bigint or NULL.
-- Columns: id, taken_at, spec, status, schema_after, problems_before
SELECT r.id, r.taken_at, r.spec, r.status,
       nullif(to_jsonb(r) -> 'schema_after', 'null'::jsonb)    AS schema_after,
       nullif(to_jsonb(r) -> 'problems_before', 'null'::jsonb) AS problems_before
  FROM uuidpk.fingerprint_run AS r
 WHERE %(run_id)s::int8 IS NULL OR r.id = %(run_id)s::int8
 ORDER BY r.id DESC
 LIMIT 1

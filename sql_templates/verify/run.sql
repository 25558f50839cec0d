-- One fingerprint run: the one asked for, or the latest when run_id is NULL. schema_after,
-- problems_before and online read through to_jsonb(), so a table an earlier uuidpk made without
-- them reads as NULLs rather than failing (verify writes nothing, so it never adds them itself).
-- JSON as text: psycopg's json loader reads bytes as UTF-8, whatever the client encoding
-- (LATIN1: a non-ASCII name breaks it); text is decoded in the connection's encoding.
-- Parameters: %(run_id)s bigint or NULL.
-- Columns: id, taken_at, spec, status, schema_after, problems_before, online
SELECT r.id, r.taken_at, r.spec::text AS spec, r.status,
       nullif(to_jsonb(r) -> 'schema_after', 'null'::jsonb)::text    AS schema_after,
       nullif(to_jsonb(r) -> 'problems_before', 'null'::jsonb)::text AS problems_before,
       nullif(to_jsonb(r) -> 'online', 'null'::jsonb)::text          AS online
  FROM uuidpk.fingerprint_run AS r
 WHERE %(run_id)s::int8 IS NULL OR r.id = %(run_id)s::int8
 ORDER BY r.id DESC
 LIMIT 1

-- The latest fingerprint run an online migration took (online_mark.sql). to_jsonb(r) reads a
-- table an earlier uuidpk made without the online column as having none.
-- Parameters: %(migration)s bigint.
-- Columns: id
SELECT r.id
  FROM uuidpk.fingerprint_run AS r
 WHERE to_jsonb(r) -> 'online' ->> 'migration' = %(migration)s::int8::text
 ORDER BY r.id DESC
 LIMIT 1

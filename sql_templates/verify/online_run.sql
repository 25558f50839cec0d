-- The fingerprint run an online migration's proof took (online_mark.sql): the latest online
-- run taken since the migration started. to_jsonb(r) reads a table an earlier uuidpk made
-- without the online column as having none.
-- Parameters: %(migration)s bigint.
-- Columns: id
SELECT r.id
  FROM uuidpk.fingerprint_run AS r
  JOIN uuidpk.online_migration AS m ON m.id = %(migration)s
 WHERE to_jsonb(r) -> 'online' IS NOT NULL
   AND to_jsonb(r) -> 'online' <> 'null'::jsonb
   AND r.taken_at >= m.started_at
 ORDER BY r.id DESC
 LIMIT 1

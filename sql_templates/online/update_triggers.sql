-- Triggers the backfill's UPDATEs would fire: enabled, on UPDATE, not limited to named
-- columns (the backfill names only shadows). An updated_at trigger would rewrite every row's
-- timestamp: the backfill runs with session_replication_role = replica on those tables, which
-- ENABLE ALWAYS triggers ignore.
-- Parameters: none. Bind: %(tables)s int8[]. Columns: table_oid, name, enabled ('O', 'A', 'R').
SELECT t.tgrelid::int8 AS table_oid, t.tgname AS name, t.tgenabled::text AS enabled
  FROM pg_catalog.pg_trigger t
 WHERE NOT t.tgisinternal
   AND t.tgrelid = ANY(%(tables)s)
   AND (t.tgtype & 16) <> 0
   AND t.tgenabled <> 'D'
   AND cardinality(t.tgattr::int2[]) = 0
 ORDER BY t.tgrelid, t.tgname

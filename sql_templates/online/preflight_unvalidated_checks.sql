-- CHECK constraints added NOT VALID on the given tables. PostgreSQL skipped the rows already
-- there when they were added, but checks every row an UPDATE writes: the backfill's UPDATE of
-- a row that violates one fails, however long the backfill has run by then.
-- Parameters: none. Bind: %(tables)s int8[].
-- Columns: table_oid, name, expression (pg_get_expr of conbin), table_bytes
SELECT c.conrelid::int8 AS table_oid, c.conname AS name,
       pg_catalog.pg_get_expr(c.conbin, c.conrelid) AS expression,
       pg_catalog.pg_relation_size(c.conrelid)::int8 AS table_bytes
  FROM pg_catalog.pg_constraint c
 WHERE c.contype = 'c' AND NOT c.convalidated
   AND c.conrelid = ANY(%(tables)s)
 ORDER BY c.conrelid, c.conname

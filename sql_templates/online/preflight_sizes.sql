-- What an online conversion copies, per table: the table's own size (the backfill writes every
-- row again: a second version of each until VACUUM), and the indexes on its closure columns
-- (each gets a twin on the shadows). Sizes in bytes, from pg_relation_size (main fork).
-- Parameters: none. Bind: %(tables)s int8[], %(indexes)s int8[].
-- Columns: table_oid, table_bytes, index_bytes
SELECT t.oid::int8 AS table_oid, pg_catalog.pg_relation_size(t.oid)::int8 AS table_bytes,
       coalesce((SELECT sum(pg_catalog.pg_relation_size(i.indexrelid))
                   FROM pg_catalog.pg_index i
                  WHERE i.indrelid = t.oid AND i.indexrelid = ANY(%(indexes)s)), 0)::int8
           AS index_bytes
  FROM pg_catalog.pg_class t
 WHERE t.oid = ANY(%(tables)s)
 ORDER BY t.oid

-- What PostgreSQL reports about another backend's long command: an index build (CREATE
-- INDEX, REINDEX, and the indexes ALTER COLUMN ... TYPE rebuilds), or the rewrite of CLUSTER
-- and VACUUM FULL. PostgreSQL reports nothing for ALTER TABLE's own table rewrite.
-- Parameters: pid (the backend running the conversion).
-- Columns: relation (the table, as regclass text), phase, done, total (blocks; 0 when the
--          phase counts none).
SELECT i.relid::regclass::text AS relation, i.phase, i.blocks_done AS done, i.blocks_total AS total
  FROM pg_stat_progress_create_index i
 WHERE i.pid = %(pid)s
UNION ALL
SELECT c.relid::regclass::text, c.phase, c.heap_blks_scanned, c.heap_blks_total
  FROM pg_stat_progress_cluster c
 WHERE c.pid = %(pid)s
 LIMIT 1

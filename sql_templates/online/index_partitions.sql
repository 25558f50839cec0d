-- The indexes PostgreSQL made on each partition for an index of a partitioned table (ATTACHed
-- to it, pg_inherits): their names must come back on the twins built partition by partition.
-- Parameters: none. Bind: %(oids)s int8[] (indexes of partitioned tables).
-- Columns: parent_oid (the partitioned table's index), table_oid (the partition), name.
SELECT h.inhparent::int8 AS parent_oid, x.indrelid::int8 AS table_oid, c.relname AS name
  FROM pg_catalog.pg_inherits h
  JOIN pg_catalog.pg_index x ON x.indexrelid = h.inhrelid
  JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
 WHERE h.inhparent = ANY(%(oids)s)
 ORDER BY 1, 2

-- Tables, partitioned tables, views and materialized views in the user's schemas.
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, schema, name, relkind, is_partition, parent_oid, est_rows (NULL: never analyzed),
--          size_bytes (estimate),
--          owner, rls_enabled, comment, partition_key (attnums; empty unless partitioned),
--          extension (the extension the relation belongs to, pg_depend deptype 'e'; else NULL)
SELECT c.oid::int8                                  AS oid,
       n.nspname                                    AS schema,
       c.relname                                    AS name,
       c.relkind::text                              AS relkind,
       c.relispartition                             AS is_partition,
       (SELECT i.inhparent::int8 FROM pg_inherits i
         WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent_oid,
       -- -1 until the table was first analyzed or vacuumed (PostgreSQL 14 and newer): unknown.
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::int8 END AS est_rows,
       -- An estimate from the planner's statistics, like est_rows: the exact
       -- pg_total_relation_size() stats every file and takes seconds over thousands of tables.
       ((c.relpages
         + coalesce((SELECT sum(ic.relpages) FROM pg_index x
                       JOIN pg_class ic ON ic.oid = x.indexrelid
                      WHERE x.indrelid = c.oid), 0)
         + coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = c.reltoastrelid), 0))
        * current_setting('block_size')::int8)::int8 AS size_bytes,
       pg_get_userbyid(c.relowner)                  AS owner,
       c.relrowsecurity                             AS rls_enabled,
       obj_description(c.oid, 'pg_class')           AS comment,
       coalesce((SELECT pt.partattrs::int2[]::int4[] FROM pg_partitioned_table pt
                  WHERE pt.partrelid = c.oid), '{}')  AS partition_key,
       (SELECT e.extname FROM pg_depend d
          JOIN pg_extension e ON e.oid = d.refobjid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
         LIMIT 1)                                   AS extension
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.oid = ANY(%(schemas)s::oid[])
 ORDER BY n.nspname, c.relname

-- Tables, partitioned tables, views and materialized views in the user's schemas.
-- Parameters: none (system schemas, temp schemas and the uuidpk schema are skipped).
-- Columns: oid, schema, name, relkind, is_partition, parent_oid, est_rows, size_bytes,
--          owner, rls_enabled, comment, partition_key (attnums; empty unless partitioned)
SELECT c.oid::int8                                  AS oid,
       n.nspname                                    AS schema,
       c.relname                                    AS name,
       c.relkind::text                              AS relkind,
       c.relispartition                             AS is_partition,
       (SELECT i.inhparent::int8 FROM pg_inherits i
         WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent_oid,
       greatest(c.reltuples, 0)::int8               AS est_rows,
       CASE WHEN c.relkind IN ('r', 'p', 'm')
            THEN pg_total_relation_size(c.oid) ELSE 0 END::int8 AS size_bytes,
       pg_get_userbyid(c.relowner)                  AS owner,
       c.relrowsecurity                             AS rls_enabled,
       obj_description(c.oid, 'pg_class')           AS comment,
       coalesce((SELECT pt.partattrs::int2[]::int4[] FROM pg_partitioned_table pt
                  WHERE pt.partrelid = c.oid), '{}')  AS partition_key
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname <> 'information_schema'
   AND n.nspname <> 'uuidpk'
   AND n.nspname NOT LIKE 'pg\_%'
 ORDER BY n.nspname, c.relname

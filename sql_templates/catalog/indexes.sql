-- Indexes on the user's tables, with every column each one uses (keys, INCLUDE columns,
-- expressions and predicates alike, read from pg_depend).
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, table_oid, name, key_columns, used_columns, is_unique, is_primary, is_partial,
--          has_expressions, constraint_oid, definition, predicate (the WHERE of a partial
--          index, deparsed; else NULL), expressions (an expression index's expressions,
--          deparsed, comma-separated; else NULL), comment, parent_oid (the partitioned index
--          it is attached to)
SELECT i.indexrelid::int8                             AS oid,
       i.indrelid::int8                               AS table_oid,
       ic.relname                                     AS name,
       i.indkey::int2[]::int4[]                       AS key_columns,
       ARRAY(SELECT DISTINCT d.refobjsubid::int4
               FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
                AND d.refobjsubid > 0
              ORDER BY 1)                             AS used_columns,
       i.indisunique                                  AS is_unique,
       i.indisprimary                                 AS is_primary,
       i.indpred IS NOT NULL                          AS is_partial,
       i.indexprs IS NOT NULL                         AS has_expressions,
       (SELECT co.oid::int8 FROM pg_constraint co
         WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
           AND co.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_oid,
       -- Deparsed only where it is read back: partial and expression indexes (named in
       -- warnings) and indexes on materialized views (recreated with the view).
       CASE WHEN i.indpred IS NOT NULL OR i.indexprs IS NOT NULL OR c.relkind = 'm'
            THEN pg_get_indexdef(i.indexrelid) ELSE '' END AS definition,
       pg_get_expr(i.indpred, i.indrelid)             AS predicate,
       pg_get_expr(i.indexprs, i.indrelid)            AS expressions,
       obj_description(i.indexrelid, 'pg_class')      AS comment,
       (SELECT h.inhparent::int8 FROM pg_inherits h
         WHERE h.inhrelid = i.indexrelid)             AS parent_oid
  FROM pg_index i
  JOIN pg_class ic    ON ic.oid = i.indexrelid
  JOIN pg_class c     ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.oid = ANY(%(schemas)s::oid[])
 ORDER BY i.indrelid, ic.relname

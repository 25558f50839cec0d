-- Columns of the user's tables and views (not system columns, not dropped ones).
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: table_oid, attnum, name, type, type_name, type_schema, not_null, default_expr,
--          identity, generated, comment
SELECT a.attrelid::int8                               AS table_oid,
       a.attnum::int4                                 AS attnum,
       a.attname                                      AS name,
       format_type(a.atttypid, a.atttypmod)           AS type,
       t.typname                                      AS type_name,
       tn.nspname                                     AS type_schema,
       a.attnotnull                                   AS not_null,
       pg_get_expr(d.adbin, d.adrelid)                AS default_expr,
       a.attidentity::text                            AS identity,
       a.attgenerated::text                           AS generated,
       ds.description                                 AS comment
  FROM pg_attribute a
  JOIN pg_class c      ON c.oid = a.attrelid
  JOIN pg_namespace n  ON n.oid = c.relnamespace
  JOIN pg_type t       ON t.oid = a.atttypid
  JOIN pg_namespace tn ON tn.oid = t.typnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass
                             AND ds.objoid = a.attrelid AND ds.objsubid = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND a.attnum > 0
   AND NOT a.attisdropped
   AND n.oid = ANY(%(schemas)s::oid[])
 ORDER BY a.attrelid, a.attnum

-- What rebuilding an index on other columns takes: access method, key columns with their
-- operator classes, collations and orderings, INCLUDE columns, predicate.
-- Parameters: none. Bind: %(oids)s int8[].
-- Columns: oid, method, key_count, columns (attnums, keys then INCLUDE), opclasses (qualified,
--          '' for the column type's default), collations (qualified, '' for the column's own),
--          options (indoption bits: 1 DESC, 2 NULLS FIRST), predicate, expressions (per
--          column: the deparsed expression, '' for a plain column), nulls_not_distinct,
--          names (the index's own attribute names, by position)
SELECT i.indexrelid::int8 AS oid,
       am.amname AS method,
       i.indnkeyatts::int4 AS key_count,
       i.indkey::int2[]::int4[] AS columns,
       -- The index's own attribute has the indexed value's type (an expression's too).
       ARRAY(SELECT CASE WHEN oc.opcdefault AND oc.opcintype = a.atttypid THEN ''
                         ELSE quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END
               FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS u(opclass, n)
               JOIN pg_catalog.pg_opclass oc ON oc.oid = u.opclass
               JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
               LEFT JOIN pg_catalog.pg_attribute a
                      ON a.attrelid = i.indexrelid AND a.attnum = u.n
              ORDER BY u.n) AS opclasses,
       ARRAY(SELECT CASE WHEN u.coll = 0 OR u.coll = coalesce(a.attcollation, 100) THEN ''
                         ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
               FROM unnest(i.indcollation::oid[], i.indkey::int2[]) WITH ORDINALITY
                    AS u(coll, attnum, n)
               LEFT JOIN pg_catalog.pg_collation co ON co.oid = u.coll
               LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
               LEFT JOIN pg_catalog.pg_attribute a
                      ON a.attrelid = i.indrelid AND a.attnum = u.attnum
              ORDER BY u.n) AS collations,
       i.indoption::int2[]::int4[] AS options,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate,
       ARRAY(SELECT CASE WHEN k.attnum = 0 THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.n::int4, false)
                         ELSE '' END
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
              ORDER BY k.n) AS expressions,
       -- UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+), read so that older servers answer too.
       coalesce((pg_catalog.to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false)
           AS nulls_not_distinct,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = i.indexrelid AND a.attnum > 0 ORDER BY a.attnum) AS names
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_am am ON am.oid = ic.relam
 WHERE i.indexrelid = ANY(%(oids)s)

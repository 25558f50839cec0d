-- Sequences in the user's schemas, the column that owns each (OWNED BY or identity) and the
-- columns whose defaults call it.
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, schema, name, owner_table_oid, owner_attnum, is_identity, used_by
SELECT s.oid::int8                                    AS oid,
       n.nspname                                      AS schema,
       s.relname                                      AS name,
       own.refobjid::int8                             AS owner_table_oid,
       own.refobjsubid::int4                          AS owner_attnum,
       coalesce(own.deptype = 'i', false)             AS is_identity,
       ARRAY(SELECT ARRAY[ad.adrelid::int8, ad.adnum::int8]
               FROM pg_depend u
               JOIN pg_attrdef ad ON ad.oid = u.objid
              WHERE u.classid = 'pg_attrdef'::regclass
                AND u.refclassid = 'pg_class'::regclass AND u.refobjid = s.oid
              ORDER BY 1)                             AS used_by
  FROM pg_class s
  JOIN pg_namespace n ON n.oid = s.relnamespace
  LEFT JOIN pg_depend own
         ON own.classid = 'pg_class'::regclass AND own.objid = s.oid
        AND own.refclassid = 'pg_class'::regclass AND own.refobjsubid > 0
        AND own.deptype IN ('a', 'i')
 WHERE s.relkind = 'S'
   AND n.oid = ANY(%(schemas)s::oid[])
 ORDER BY n.nspname, s.relname

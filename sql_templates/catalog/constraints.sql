-- Primary key, unique, foreign key, check and exclusion constraints on the user's tables.
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, table_oid, name, kind, columns, ref_table_oid, ref_columns, on_update,
--          on_delete, match_type, deferrable, deferred, validated, parent_oid, index_oid,
--          definition, comment, exclusion_columns (an exclusion constraint's elements: attnum,
--          0 for an expression), exclusion_uuid (per element: PostgreSQL rebuilds it over uuid:
--          the element names no operator class of its own, and the access method's default
--          operator class for uuid has its operator; btree_gist's gist_uuid_ops for gist)
SELECT co.oid::int8                                   AS oid,
       co.conrelid::int8                              AS table_oid,
       co.conname                                     AS name,
       co.contype::text                               AS kind,
       coalesce(co.conkey, '{}')::int4[]              AS columns,
       nullif(co.confrelid, 0)::int8                  AS ref_table_oid,
       coalesce(co.confkey, '{}')::int4[]             AS ref_columns,
       co.confupdtype::text                           AS on_update,
       co.confdeltype::text                           AS on_delete,
       co.confmatchtype::text                         AS match_type,
       co.condeferrable                               AS deferrable,
       co.condeferred                                 AS deferred,
       co.convalidated                                AS validated,
       nullif(co.conparentid, 0)::int8                AS parent_oid,
       nullif(co.conindid, 0)::int8                   AS index_oid,
       -- Deparsing costs; only CHECK and EXCLUDE are ever read back as text (foreign keys are
       -- rebuilt from the columns above).
       CASE WHEN co.contype IN ('c', 'x') THEN pg_get_constraintdef(co.oid)
            ELSE '' END                               AS definition,
       obj_description(co.oid, 'pg_constraint')       AS comment,
       CASE WHEN co.contype = 'x' THEN ARRAY(
           SELECT k.attnum::int4
             FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
            WHERE i.indexrelid = co.conindid ORDER BY k.n)
            ELSE '{}' END                           AS exclusion_columns,
       CASE WHEN co.contype = 'x' THEN ARRAY(
           SELECT oc.opcdefault AND EXISTS (
                      SELECT 1
                        FROM pg_opclass uc
                        JOIN pg_amop ao   ON ao.amopfamily = uc.opcfamily
                        JOIN pg_operator o ON o.oid = ao.amopopr
                       WHERE uc.opcmethod = oc.opcmethod AND uc.opcdefault
                         AND uc.opcintype = 'pg_catalog.uuid'::pg_catalog.regtype
                         AND ao.amoplefttype = 'pg_catalog.uuid'::pg_catalog.regtype
                         AND ao.amoprighttype = 'pg_catalog.uuid'::pg_catalog.regtype
                         AND o.oprname = op.oprname)
             FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indclass::oid[], co.conexclop)
                  WITH ORDINALITY AS e(opclass, operator, n)
             JOIN pg_opclass oc  ON oc.oid = e.opclass
             JOIN pg_operator op ON op.oid = e.operator
            WHERE i.indexrelid = co.conindid ORDER BY e.n)
            ELSE '{}' END                           AS exclusion_uuid
  FROM pg_constraint co
  JOIN pg_class c     ON c.oid = co.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE co.contype IN ('p', 'u', 'f', 'c', 'x')
   AND n.oid = ANY(%(schemas)s::oid[])
 ORDER BY co.conrelid, co.conname

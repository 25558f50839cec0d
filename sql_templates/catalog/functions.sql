-- User functions and procedures: what their signatures and bodies say, for finding the ones
-- that keep working after ALTER COLUMN ... TYPE uuid only until they are called. System schemas
-- and functions that belong to an extension (pg_depend deptype 'e') are skipped.
-- Every type in a signature is described after looking through arrays and domains: its base
-- type, and the relation when it is a row type (typrelid) with the integer fields of that row.
-- SQL-standard bodies (BEGIN ATOMIC / RETURN, PostgreSQL 14+) have an empty prosrc; for them
-- body holds pg_get_functiondef() (pg_get_function_sqlbody() does not exist on 13).
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, schema, name, kind, identity_arguments, result, language, returns_set,
--          arguments (json list of {position, name, mode, type}), return_type (json type),
--          body, sql_standard_body, trigger_tables (oids of the tables whose triggers call it:
--          NEW and OLD are rows of those)
--   json type: {type, base_schema, base_name, is_array, relation_oid, relation_kind,
--               relation_schema, relation_name, integer_fields}
WITH procs AS (
    SELECT p.oid, p.pronamespace, p.proname, p.prokind, p.prolang, p.proretset, p.prorettype,
           p.prosrc, p.proargmodes, p.proargnames,
           coalesce(p.proallargtypes, p.proargtypes::oid[]) AS argtypes
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.oid = ANY(%(schemas)s::oid[])
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype = 'e')
),
used AS (
    SELECT DISTINCT u.type_oid
      FROM procs, unnest(procs.argtypes || procs.prorettype) AS u(type_oid)
),
types AS (
    SELECT u.type_oid,
           json_build_object(
               'type', format_type(u.type_oid, NULL),
               'base_schema', bn.nspname,
               'base_name', b.typname,
               'is_array', t.typcategory = 'A',
               'relation_oid', nullif(b.typrelid, 0)::int8,
               'relation_kind', r.relkind::text,
               'relation_schema', rn.nspname,
               'relation_name', r.relname,
               'integer_fields',
               ARRAY(SELECT a.attname::text
                       FROM pg_attribute a
                      WHERE a.attrelid = b.typrelid AND a.attnum > 0 AND NOT a.attisdropped
                        AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
                      ORDER BY a.attnum)
           ) AS described
      FROM used u
      JOIN pg_type t ON t.oid = u.type_oid
      -- an array's element, then a domain's base type (one level of each)
      JOIN pg_type e ON e.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
      JOIN pg_type b ON b.oid = CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END
      JOIN pg_namespace bn ON bn.oid = b.typnamespace
      LEFT JOIN pg_class r ON r.oid = b.typrelid
      LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
)
SELECT p.oid::int8                                    AS oid,
       n.nspname                                      AS schema,
       p.proname                                      AS name,
       p.prokind::text                                AS kind,
       pg_get_function_identity_arguments(p.oid)      AS identity_arguments,
       pg_get_function_result(p.oid)                  AS result,
       l.lanname                                      AS language,
       p.proretset                                    AS returns_set,
       coalesce((SELECT json_agg(json_build_object(
                            'position', a.ord,
                            'name', nullif(p.proargnames[a.ord], ''),
                            'mode', coalesce(p.proargmodes[a.ord], 'i'),
                            'type', ty.described) ORDER BY a.ord)
                   FROM unnest(p.argtypes) WITH ORDINALITY AS a(type_oid, ord)
                   JOIN types ty ON ty.type_oid = a.type_oid),
                '[]'::json)                           AS arguments,
       (SELECT ty.described FROM types ty WHERE ty.type_oid = p.prorettype) AS return_type,
       CASE WHEN p.prokind = 'a' THEN NULL
            WHEN l.lanname = 'sql' AND p.prosrc = '' THEN pg_get_functiondef(p.oid)
            ELSE p.prosrc END                         AS body,
       (l.lanname = 'sql' AND p.prosrc = '')          AS sql_standard_body,
       ARRAY(SELECT DISTINCT t.tgrelid::int8 FROM pg_trigger t
              WHERE t.tgfoid = p.oid AND NOT t.tgisinternal
              ORDER BY 1)                             AS trigger_tables
  FROM procs p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l  ON l.oid = p.prolang
 ORDER BY n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)

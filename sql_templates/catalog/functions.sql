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
           coalesce(p.proallargtypes, p.proargtypes::oid[]) AS argtypes,
           n.nspname, l.lanname
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      JOIN pg_language l ON l.oid = p.prolang
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
),
-- Arguments described in one grouped join (a sub-select per function would scan the types
-- CTE, which has no index, once per function).
args AS (
    SELECT p.oid,
           json_agg(json_build_object(
               'position', a.ord,
               'name', nullif(p.proargnames[a.ord], ''),
               'mode', coalesce(p.proargmodes[a.ord], 'i'),
               'type', ty.described) ORDER BY a.ord) AS arguments
      FROM procs p
     CROSS JOIN LATERAL unnest(p.argtypes) WITH ORDINALITY AS a(type_oid, ord)
      JOIN types ty ON ty.type_oid = a.type_oid
     GROUP BY p.oid
),
-- pg_trigger has no index on tgfoid: one grouped scan here, where a sub-select per function
-- scanned every trigger (the internal ones of each foreign key too) once per function.
triggers AS (
    SELECT t.tgfoid, array_agg(DISTINCT t.tgrelid::int8 ORDER BY t.tgrelid::int8) AS tables
      FROM pg_trigger t
     WHERE NOT t.tgisinternal
     GROUP BY t.tgfoid
)
SELECT p.oid::int8                                    AS oid,
       p.nspname                                      AS schema,
       p.proname                                      AS name,
       p.prokind::text                                AS kind,
       pg_get_function_identity_arguments(p.oid)      AS identity_arguments,
       pg_get_function_result(p.oid)                  AS result,
       p.lanname                                      AS language,
       p.proretset                                    AS returns_set,
       coalesce(ar.arguments, '[]'::json)             AS arguments,
       rt.described                                   AS return_type,
       CASE WHEN p.prokind = 'a' THEN NULL
            WHEN p.lanname = 'sql' AND p.prosrc = '' THEN pg_get_functiondef(p.oid)
            ELSE p.prosrc END                         AS body,
       (p.lanname = 'sql' AND p.prosrc = '')          AS sql_standard_body,
       coalesce(tg.tables, '{}'::int8[])             AS trigger_tables
  FROM procs p
  -- Names were joined in procs: joined here, the planner's estimate of the CTE's rows drops
  -- to a handful and every join below becomes a nested loop over the whole of the other side.
  LEFT JOIN triggers tg ON tg.tgfoid = p.oid
  LEFT JOIN args ar ON ar.oid = p.oid
  LEFT JOIN types rt ON rt.type_oid = p.prorettype
 ORDER BY p.nspname, p.proname, pg_get_function_identity_arguments(p.oid)

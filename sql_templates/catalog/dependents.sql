-- Objects that depend on columns of the user's tables and that PostgreSQL either refuses to
-- keep across ALTER COLUMN ... TYPE (views, materialized views, rules, policies) or keeps only
-- when their expressions still type-check (triggers with column lists or WHEN, functions with
-- SQL-standard bodies). Read from pg_depend, one row per (dependent object, table).
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- A generated column's expression depends on the columns it reads (pg_attrdef rows); those
-- come out as kind 'generated', named by the generated column.
-- Columns: kind, oid, table_oid, columns, schema, name, relation_oid, definition
WITH deps AS (
    SELECT d.classid, d.objid, d.refobjid,
           array_agg(DISTINCT d.refobjsubid::int4 ORDER BY d.refobjsubid::int4) AS columns
      FROM pg_depend d
      JOIN pg_class rc     ON rc.oid = d.refobjid
      JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     WHERE d.refclassid = 'pg_class'::regclass
       AND rn.oid = ANY(%(schemas)s::oid[])
       AND d.refobjsubid > 0
       AND d.deptype = 'n'
       AND d.classid IN ('pg_rewrite'::regclass, 'pg_policy'::regclass,
                         'pg_trigger'::regclass, 'pg_proc'::regclass, 'pg_attrdef'::regclass)
     GROUP BY d.classid, d.objid, d.refobjid
)
SELECT CASE WHEN r.rulename = '_RETURN' AND vc.relkind = 'm' THEN 'matview'
            WHEN r.rulename = '_RETURN' THEN 'view'
            ELSE 'rule' END                          AS kind,
       CASE WHEN r.rulename = '_RETURN' THEN vc.oid ELSE r.oid END::int8 AS oid,
       deps.refobjid::int8                           AS table_oid,
       deps.columns                                  AS columns,
       vn.nspname                                    AS schema,
       CASE WHEN r.rulename = '_RETURN' THEN vc.relname ELSE r.rulename END AS name,
       vc.oid::int8                                  AS relation_oid,
       CASE WHEN r.rulename = '_RETURN' THEN pg_get_viewdef(vc.oid)
            ELSE pg_get_ruledef(r.oid) END           AS definition
  FROM deps
  JOIN pg_rewrite r    ON deps.classid = 'pg_rewrite'::regclass AND r.oid = deps.objid
  JOIN pg_class vc     ON vc.oid = r.ev_class
  JOIN pg_namespace vn ON vn.oid = vc.relnamespace
 WHERE r.ev_class <> deps.refobjid OR r.rulename <> '_RETURN'
UNION ALL
SELECT 'policy', p.oid::int8, deps.refobjid::int8, deps.columns, pn.nspname, p.polname,
       p.polrelid::int8,
       concat_ws(' ', 'USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                 'WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')')
  FROM deps
  JOIN pg_policy p     ON deps.classid = 'pg_policy'::regclass AND p.oid = deps.objid
  JOIN pg_class pc     ON pc.oid = p.polrelid
  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
UNION ALL
SELECT 'trigger', t.oid::int8, deps.refobjid::int8, deps.columns, tn.nspname, t.tgname,
       t.tgrelid::int8, pg_get_triggerdef(t.oid)
  FROM deps
  JOIN pg_trigger t    ON deps.classid = 'pg_trigger'::regclass AND t.oid = deps.objid
  JOIN pg_class tc     ON tc.oid = t.tgrelid
  JOIN pg_namespace tn ON tn.oid = tc.relnamespace
 WHERE NOT t.tgisinternal
UNION ALL
SELECT 'function', f.oid::int8, deps.refobjid::int8, deps.columns, fn.nspname,
       f.proname || '(' || pg_get_function_identity_arguments(f.oid) || ')',
       NULL::int8, NULL::text
  FROM deps
  JOIN pg_proc f       ON deps.classid = 'pg_proc'::regclass AND f.oid = deps.objid
  JOIN pg_namespace fn ON fn.oid = f.pronamespace
UNION ALL
SELECT 'generated', ad.oid::int8, deps.refobjid::int8, deps.columns, gn.nspname, ga.attname,
       ad.adrelid::int8, pg_get_expr(ad.adbin, ad.adrelid)
  FROM deps
  JOIN pg_attrdef ad   ON deps.classid = 'pg_attrdef'::regclass AND ad.oid = deps.objid
  JOIN pg_attribute ga ON ga.attrelid = ad.adrelid AND ga.attnum = ad.adnum
  JOIN pg_class gc     ON gc.oid = ad.adrelid
  JOIN pg_namespace gn ON gn.oid = gc.relnamespace
 WHERE ga.attgenerated <> ''
 ORDER BY 1, 5, 6

-- Views and materialized views in the user's schemas, with what it takes to recreate each
-- exactly: definition, options, owner, comments, grants, and the relations it reads.
-- Read with search_path = pg_catalog so definitions name every user object with its schema.
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, schema, name, relkind, definition, options, owner, comment, column_comments
--          (jsonb: column name -> comment), grants (jsonb: [{grantee, privilege, grantable}]),
--          populated, reads (oids of relations it depends on), triggers (CREATE TRIGGER
--          statements of the triggers on it), rules (CREATE RULE statements, _RETURN aside)
SELECT c.oid::int8                                    AS oid,
       n.nspname                                      AS schema,
       c.relname                                      AS name,
       c.relkind::text                                AS relkind,
       pg_get_viewdef(c.oid)                          AS definition,
       coalesce(c.reloptions, '{}')                   AS options,
       pg_get_userbyid(c.relowner)                    AS owner,
       obj_description(c.oid, 'pg_class')             AS comment,
       coalesce((SELECT jsonb_object_agg(a.attname, d.description)
                   FROM pg_description d
                   JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
                  WHERE d.classoid = 'pg_class'::regclass AND d.objoid = c.oid
                    AND d.objsubid > 0), '{}')        AS column_comments,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                          'grantee', CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                          ELSE pg_get_userbyid(g.grantee) END,
                          'privilege', g.privilege_type,
                          'grantable', g.is_grantable)
                        ORDER BY g.grantee, g.privilege_type)
                   FROM aclexplode(c.relacl) g
                  WHERE g.grantee <> c.relowner), '[]') AS grants,
       c.relispopulated                               AS populated,
       ARRAY(SELECT DISTINCT d.refobjid::int8
               FROM pg_rewrite r
               JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
              WHERE r.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass
                AND d.refobjid <> c.oid
              ORDER BY 1)                             AS reads,
       ARRAY(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
              WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY t.tgname) AS triggers,
       ARRAY(SELECT pg_get_ruledef(r.oid) FROM pg_rewrite r
              WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN' ORDER BY r.rulename) AS rules
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm')
   AND n.oid = ANY(%(schemas)s::oid[])
 ORDER BY n.nspname, c.relname

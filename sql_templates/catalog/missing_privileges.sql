-- What the current role lacks among the privileges a plan's statements need, one row per
-- problem, read before anything changes. A superuser passes every check.
-- - ALTER TABLE, DROP VIEW/POLICY/TRIGGER/RULE/SEQUENCE and CREATE POLICY need the relation's
--   owner's privileges (pg_has_role ... 'USAGE': a member that inherits them);
-- - CREATE VIEW needs CREATE on its schema; giving the view back to its owner (ALTER ... OWNER
--   TO) needs membership in that role (the SET option from PostgreSQL 16), and that role
--   needs CREATE on the view's schema;
-- - the derivation functions live in pg_temp: TEMPORARY on the database;
-- - the tool's schema (fingerprints, mapping tables): CREATE and USAGE on it, or CREATE on the
--   database while it does not exist yet;
-- - the fingerprint reads where every sequence-fed column's sequence stands (last_value, and
--   the column's max()), across the database: SELECT on those sequences and tables.
-- Parameters: owned_schemas, owned_names (text[], parallel: relations it must own),
--             view_schemas, view_owners (text[], parallel: each view it recreates, its schema and
--             its owner), temp (bool), tool_schema (text, or NULL when the plan writes none),
--             fingerprint (bool: apply records one), schemas (oid[]: the user's schemas, schemas.sql:
--             where the fingerprint reads sequence_columns.sql, included as {sequence_columns})
-- Columns: what (relation, schema, role, owner schema, database, sequence read, table read),
--          name, missing (owner, CREATE,
--          TEMPORARY, USAGE, membership), owner (the owning role: of a relation, of a view)
SELECT 'relation'                       AS what,
       format('%%I.%%I', r.schema, r.name) AS name,
       'owner'                          AS missing,
       pg_get_userbyid(c.relowner)      AS owner
  FROM unnest(%(owned_schemas)s::text[], %(owned_names)s::text[]) AS r(schema, name)
  JOIN pg_namespace n ON n.nspname = r.schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.name
 WHERE NOT pg_has_role(c.relowner, 'USAGE')
UNION ALL
SELECT 'schema', quote_ident(n.nspname), 'CREATE', NULL
  FROM pg_namespace n
 WHERE n.nspname = ANY(%(view_schemas)s::text[])
   AND NOT has_schema_privilege(n.oid, 'CREATE')
UNION ALL
SELECT 'role', quote_ident(r.rolname), 'membership', NULL
  FROM pg_roles r
 WHERE r.rolname = ANY(%(view_owners)s::text[])
   AND NOT pg_has_role(r.oid, CASE WHEN current_setting('server_version_num')::int >= 160000
                                   THEN 'SET' ELSE 'MEMBER' END)
UNION ALL
SELECT DISTINCT 'owner schema', quote_ident(v.schema), 'CREATE', v.owner
  FROM unnest(%(view_schemas)s::text[], %(view_owners)s::text[]) AS v(schema, owner)
 WHERE EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = v.owner)
   AND to_regnamespace(quote_ident(v.schema)) IS NOT NULL
   AND NOT has_schema_privilege(v.owner, to_regnamespace(quote_ident(v.schema)), 'CREATE')
UNION ALL
SELECT 'database', quote_ident(current_database()), 'TEMPORARY', NULL
 WHERE %(temp)s AND NOT has_database_privilege(current_database(), 'TEMPORARY')
UNION ALL
SELECT 'schema', quote_ident(s.name), p.privilege, NULL
  FROM (SELECT %(tool_schema)s::text AS name) s
  CROSS JOIN (VALUES ('CREATE'), ('USAGE')) AS p(privilege)
 WHERE s.name IS NOT NULL AND to_regnamespace(s.name) IS NOT NULL
   AND NOT has_schema_privilege(s.name, p.privilege)
UNION ALL
SELECT 'database', quote_ident(current_database()), 'CREATE', NULL
 WHERE %(tool_schema)s::text IS NOT NULL AND to_regnamespace(%(tool_schema)s::text) IS NULL
   AND NOT has_database_privilege(current_database(), 'CREATE')
UNION ALL
SELECT DISTINCT CASE WHEN p.on_sequence THEN 'sequence read' ELSE 'table read' END,
       format('%%I.%%I', n.nspname, c.relname), 'SELECT', NULL
  FROM ({sequence_columns}) AS f
  CROSS JOIN LATERAL (VALUES (true, f.sequence_oid::oid), (false, f.table_oid::oid))
       AS p(on_sequence, oid)
  JOIN pg_class c ON c.oid = p.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE %(fingerprint)s
   AND NOT has_table_privilege(p.oid, 'SELECT')

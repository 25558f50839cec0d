-- The schema on some tables, as a record {"version", "objects"} whose objects are sorted by
-- (what, of, schema, table, name): what a migration leaves there and a later verify holds the
-- database to (uuidpk/schema_record.py). The relations: the tables
-- named, their partitions at any depth, the views and materialized views reading any of them
-- (at any depth), and the sequences their columns own. Each row is one object with its
-- definition:
--   constraint  (name) pg_get_constraintdef: actions, DEFERRABLE, NOT VALID; with "enabled" when
--               triggers enforce it (foreign keys, deferrable unique keys): their state
--   index       (name) pg_get_indexdef
--   default     (column) the default's expression, or GENERATED ... AS IDENTITY
--   not null    (column) NOT NULL
--   type        (column) the type with its modifiers, and its collation where not the type's
--   trigger     (name) pg_get_triggerdef, with "enabled": enabled, disabled, replica, always
--   rule        (name) pg_get_ruledef (a view's own _RETURN rule is its definition)
--   policy      (name) command, roles, USING and WITH CHECK
--   view        (of view or materialized view) pg_get_viewdef
--   options     (of the relation's kind) its reloptions (fillfactor, security_barrier, ...)
--   row security (of table) enabled, or enabled and forced
--   owner       (of the relation's kind) the owning role
--   privileges  (of the relation's kind, or of column with the column's name) the privileges
--               granted, [[grantee, privilege, grantable], ...] sorted: the defaults when no
--               GRANT or REVOKE changed them (a relation), the column's own grants (a column)
--   comment     (of table, view, materialized view, sequence, column, constraint, index,
--               trigger, rule or policy) the comment
-- "of" says what an owner, privileges, comment or options belong to; name is the column or
-- object ('' for the relation itself). Columns are named, never numbered: an online run adds
-- a column and drops the old one, and the order of the columns is not part of the record.
-- Deparsed text depends on search_path: run under pinned settings (pin_settings.sql). Tables
-- not found are left out.
-- Parameters: {tables} jsonb literal, an array of {"schema", "name"}; {version} the record's.
-- Columns: record (jsonb as text: see run.sql)
WITH RECURSIVE named AS (
    SELECT c.oid
      FROM jsonb_array_elements({tables}::jsonb) AS s(item)
      JOIN pg_namespace n ON n.nspname = s.item->>'schema'
      JOIN pg_class c     ON c.relnamespace = n.oid AND c.relname = s.item->>'name'
), tables AS (
    SELECT named.oid FROM named
    UNION
    SELECT i.inhrelid
      FROM tables
      JOIN pg_inherits i ON i.inhparent = tables.oid
      JOIN pg_class p    ON p.oid = i.inhrelid AND p.relispartition
), readers AS (
    SELECT tables.oid FROM tables
    UNION
    SELECT r.ev_class
      FROM readers
      JOIN pg_depend d  ON d.refclassid = 'pg_class'::regclass AND d.refobjid = readers.oid
                       AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite r ON r.oid = d.objid AND r.ev_class <> readers.oid
      JOIN pg_class v   ON v.oid = r.ev_class AND v.relkind IN ('v', 'm')
), owned AS (
    SELECT d.objid AS oid
      FROM tables
      JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = tables.oid
                      AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      JOIN pg_class s  ON s.oid = d.objid AND s.relkind = 'S'
), t AS (
    SELECT c.oid, c.relkind, c.relowner, c.relacl, c.reloptions, c.relrowsecurity,
           c.relforcerowsecurity, n.nspname::text AS schema, c.relname::text AS "table",
           CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                          WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
                          ELSE 'table' END AS kind
      FROM (SELECT oid FROM readers UNION SELECT oid FROM owned) AS r
      JOIN pg_class c     ON c.oid = r.oid
      JOIN pg_namespace n ON n.oid = c.relnamespace
), columns AS (
    SELECT t.oid, t.schema, t."table", t.kind, a.attnum, a.attname::text AS name, a.atttypid,
           a.atttypmod, a.attcollation, a.attnotnull, a.attidentity, a.attacl
      FROM t
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE t.relkind <> 'S'
), triggers AS (
    -- A trigger's state: O fires in origin and local sessions (enabled), D never, R only
    -- where session_replication_role is replica, A always.
    SELECT tg.oid, tg.tgrelid, tg.tgname, tg.tgisinternal, tg.tgconstraint,
           CASE tg.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                             WHEN 'R' THEN 'replica' ELSE 'always' END AS state
      FROM pg_trigger tg
), enforcing AS (
    -- The triggers enforcing a constraint, wherever they are (a foreign key's are on both
    -- tables), as one state.
    SELECT x.tgconstraint AS oid,
           CASE WHEN count(DISTINCT x.state) = 1 THEN min(x.state)
                ELSE 'partly ' || string_agg(DISTINCT x.state, ', ' ORDER BY x.state) END AS state
      FROM triggers x
     WHERE x.tgconstraint <> 0
     GROUP BY x.tgconstraint
), objects AS (
    SELECT 'constraint' AS what, '' AS of, t.schema, t."table", co.conname::text AS name,
           to_jsonb(pg_get_constraintdef(co.oid)) AS definition, e.state AS enabled
      FROM t
      JOIN pg_constraint co ON co.conrelid = t.oid
      LEFT JOIN enforcing e ON e.oid = co.oid
    UNION ALL
    SELECT 'index', '', t.schema, t."table", ic.relname::text,
           to_jsonb(pg_get_indexdef(i.indexrelid)), NULL
      FROM t
      JOIN pg_index i  ON i.indrelid = t.oid
      JOIN pg_class ic ON ic.oid = i.indexrelid
    UNION ALL
    SELECT 'default', '', c.schema, c."table", c.name,
           to_jsonb(pg_get_expr(ad.adbin, ad.adrelid)), NULL
      FROM columns c
      JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = c.attnum
    UNION ALL
    SELECT 'default', '', c.schema, c."table", c.name,
           to_jsonb(CASE c.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY'
                                       ELSE 'GENERATED BY DEFAULT AS IDENTITY' END), NULL
      FROM columns c
     WHERE c.attidentity <> ''
    UNION ALL
    SELECT 'not null', '', c.schema, c."table", c.name, to_jsonb('NOT NULL'::text), NULL
      FROM columns c
     WHERE c.attnotnull
    UNION ALL
    SELECT 'type', '', c.schema, c."table", c.name,
           to_jsonb(format_type(c.atttypid, c.atttypmod)
                    || CASE WHEN c.attcollation <> ty.typcollation
                            THEN ' COLLATE ' || c.attcollation::regcollation::text
                            ELSE '' END), NULL
      FROM columns c
      JOIN pg_type ty ON ty.oid = c.atttypid
     WHERE c.kind IN ('table', 'foreign table')
    UNION ALL
    SELECT 'trigger', '', t.schema, t."table", x.tgname::text,
           to_jsonb(pg_get_triggerdef(x.oid)), x.state
      FROM t
      JOIN triggers x ON x.tgrelid = t.oid AND NOT x.tgisinternal
    UNION ALL
    SELECT 'rule', '', t.schema, t."table", r.rulename::text, to_jsonb(pg_get_ruledef(r.oid)), NULL
      FROM t
      JOIN pg_rewrite r ON r.ev_class = t.oid AND r.rulename <> '_RETURN'
    UNION ALL
    SELECT 'policy', '', t.schema, t."table", p.polname::text,
           jsonb_build_object(
               'permissive', p.polpermissive,
               'command', p.polcmd::text,
               'roles', ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'PUBLIC'
                                          ELSE pg_get_userbyid(r.oid)::text END
                                FROM unnest(p.polroles) AS r(oid) ORDER BY 1),
               'using', pg_get_expr(p.polqual, p.polrelid),
               'check', pg_get_expr(p.polwithcheck, p.polrelid)), NULL
      FROM t
      JOIN pg_policy p ON p.polrelid = t.oid
    UNION ALL
    SELECT 'view', t.kind, t.schema, t."table", '', to_jsonb(pg_get_viewdef(t.oid)), NULL
      FROM t
     WHERE t.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'options', t.kind, t.schema, t."table", '',
           to_jsonb(ARRAY(SELECT o FROM unnest(t.reloptions) AS o ORDER BY o)), NULL
      FROM t
     WHERE t.reloptions IS NOT NULL
    UNION ALL
    SELECT 'row security', t.kind, t.schema, t."table", '',
           to_jsonb(CASE WHEN t.relforcerowsecurity THEN 'enabled and forced'
                         ELSE 'enabled' END), NULL
      FROM t
     WHERE t.relrowsecurity OR t.relforcerowsecurity
    UNION ALL
    SELECT 'owner', t.kind, t.schema, t."table", '', to_jsonb(pg_get_userbyid(t.relowner)::text),
           NULL
      FROM t
    UNION ALL
    -- Without a GRANT or REVOKE, a relation has its kind's default privileges (the owner's).
    SELECT 'privileges', t.kind, t.schema, t."table", '',
           (SELECT coalesce(jsonb_agg(g.item ORDER BY g.item), '[]'::jsonb)
              FROM (SELECT DISTINCT jsonb_build_array(
                               CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                    ELSE pg_get_userbyid(e.grantee)::text END,
                               e.privilege_type, e.is_grantable) AS item
                      FROM aclexplode(coalesce(t.relacl, acldefault(
                               CASE WHEN t.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                               t.relowner))) AS e) AS g), NULL
      FROM t
    UNION ALL
    SELECT 'privileges', 'column', c.schema, c."table", c.name,
           (SELECT coalesce(jsonb_agg(g.item ORDER BY g.item), '[]'::jsonb)
              FROM (SELECT DISTINCT jsonb_build_array(
                               CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                    ELSE pg_get_userbyid(e.grantee)::text END,
                               e.privilege_type, e.is_grantable) AS item
                      FROM aclexplode(c.attacl) AS e) AS g), NULL
      FROM columns c
     WHERE c.attacl IS NOT NULL
    UNION ALL
    SELECT 'comment', t.kind, t.schema, t."table", '', to_jsonb(d.description), NULL
      FROM t
      JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = t.oid
                           AND d.objsubid = 0
    UNION ALL
    SELECT 'comment', 'column', c.schema, c."table", c.name, to_jsonb(d.description), NULL
      FROM columns c
      JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid
                           AND d.objsubid = c.attnum
    UNION ALL
    SELECT 'comment', 'constraint', t.schema, t."table", co.conname::text,
           to_jsonb(d.description), NULL
      FROM t
      JOIN pg_constraint co  ON co.conrelid = t.oid
      JOIN pg_description d ON d.classoid = 'pg_constraint'::regclass AND d.objoid = co.oid
    UNION ALL
    SELECT 'comment', 'index', t.schema, t."table", ic.relname::text, to_jsonb(d.description),
           NULL
      FROM t
      JOIN pg_index i       ON i.indrelid = t.oid
      JOIN pg_class ic      ON ic.oid = i.indexrelid
      JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = ic.oid
                           AND d.objsubid = 0
    UNION ALL
    SELECT 'comment', 'trigger', t.schema, t."table", x.tgname::text, to_jsonb(d.description),
           NULL
      FROM t
      JOIN triggers x       ON x.tgrelid = t.oid AND NOT x.tgisinternal
      JOIN pg_description d ON d.classoid = 'pg_trigger'::regclass AND d.objoid = x.oid
    UNION ALL
    SELECT 'comment', 'rule', t.schema, t."table", r.rulename::text, to_jsonb(d.description),
           NULL
      FROM t
      JOIN pg_rewrite r     ON r.ev_class = t.oid AND r.rulename <> '_RETURN'
      JOIN pg_description d ON d.classoid = 'pg_rewrite'::regclass AND d.objoid = r.oid
    UNION ALL
    SELECT 'comment', 'policy', t.schema, t."table", p.polname::text, to_jsonb(d.description),
           NULL
      FROM t
      JOIN pg_policy p      ON p.polrelid = t.oid
      JOIN pg_description d ON d.classoid = 'pg_policy'::regclass AND d.objoid = p.oid
)
SELECT jsonb_build_object(
           'version', {version},
           'objects', coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                                   'what', o.what, 'of', nullif(o.of, ''), 'schema', o.schema,
                                   'table', o."table", 'name', o.name,
                                   'definition', o.definition, 'enabled', o.enabled))
                               ORDER BY o.what, o.of, o.schema, o."table", o.name),
                               '[]'::jsonb))::text AS record
  FROM objects AS o

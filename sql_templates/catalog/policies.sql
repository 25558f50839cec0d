-- Row-level security policies on the user's tables, with everything CREATE POLICY needs.
-- Parameters: schemas (oids of the user's schemas, catalog/schemas.sql).
-- Columns: oid, table_oid, name, permissive, command, roles, using_expr, check_expr
SELECT p.oid::int8                                    AS oid,
       p.polrelid::int8                               AS table_oid,
       p.polname                                      AS name,
       p.polpermissive                                AS permissive,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END
               FROM unnest(p.polroles) AS r ORDER BY 1) AS roles,
       pg_get_expr(p.polqual, p.polrelid)             AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid)        AS check_expr
  FROM pg_policy p
  JOIN pg_class c     ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.oid = ANY(%(schemas)s::oid[])
 ORDER BY p.polrelid, p.polname

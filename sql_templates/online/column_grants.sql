-- Column privileges (GRANT SELECT (col) ...) on the given tables: the new column is another
-- column, so the cutover grants them again on it.
-- Parameters: none. Bind: %(tables)s int8[].
-- Columns: table_oid, attnum, grantee (a role name, or PUBLIC), privilege, grantable
SELECT a.attrelid::int8 AS table_oid, a.attnum::int4 AS attnum,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(x.grantee) END
           AS grantee,
       x.privilege_type AS privilege, x.is_grantable AS grantable
  FROM pg_catalog.pg_attribute a
 CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) AS x
 WHERE a.attrelid = ANY(%(tables)s) AND a.attnum > 0 AND NOT a.attisdropped
   AND a.attacl IS NOT NULL
 ORDER BY 1, 2, 3, 4

-- The schemas that may hold the user's objects, read first: every other catalog query takes
-- their oids as its one schema filter. Left out: pg_catalog, pg_toast and the temporary schemas
-- (PostgreSQL reserves the pg_ prefix for system schemas: CREATE SCHEMA pg_x is refused) and
-- information_schema. A schema named uuidpk is listed like any other; catalog.py decides from
-- its comment and its relations whether it is the tool's own and then leaves it out.
-- Parameters: none.
-- Columns: oid, name, comment, relations (names of the tables, views, materialized views and
--          foreign tables in it; only read for the schema named uuidpk, else empty)
SELECT n.oid::int8                                    AS oid,
       n.nspname                                      AS name,
       obj_description(n.oid, 'pg_namespace')         AS comment,
       CASE WHEN n.nspname = 'uuidpk'
            THEN ARRAY(SELECT c.relname::text FROM pg_class c
                        WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                        ORDER BY 1)
            ELSE '{}'::text[] END                     AS relations
  FROM pg_namespace n
 WHERE n.nspname NOT LIKE 'pg\_%'
   AND n.nspname <> 'information_schema'
 ORDER BY n.nspname

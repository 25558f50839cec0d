-- Publications whose tables include the given ones (FOR TABLE, FOR ALL TABLES, and on 15+
-- FOR TABLES IN SCHEMA: pg_publication_tables lists them all). Logical replication does not
-- carry DDL: a subscriber's table must gain each column the publisher adds before rows with it
-- arrive, and change type with it.
-- Parameters: none. Bind: %(tables)s int8[]. Columns: publication, table_oid
SELECT p.pubname AS publication, c.oid::int8 AS table_oid
  FROM pg_catalog.pg_publication_tables p
  JOIN pg_catalog.pg_namespace n ON n.nspname = p.schemaname
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
 WHERE c.oid = ANY(%(tables)s)
 ORDER BY 1, 2

-- Tables uuidpk itself keeps in its schema (mapping tables, fingerprints), so a new mapping
-- table never takes a name an earlier run already used.
-- Parameters: none.
-- Columns: name
SELECT c.relname AS name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'uuidpk' AND c.relkind IN ('r', 'p')
 ORDER BY 1

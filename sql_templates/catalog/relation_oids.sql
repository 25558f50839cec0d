-- The oids of relations named by schema and name, as an oid[] expression (no rows: an empty
-- array); a name that names nothing is left out.
-- Parameters: {schemas}, {names} (text[] literals, parallel)
ARRAY(SELECT c.oid
        FROM unnest({schemas}::text[], {names}::text[]) AS r(schema, name)
        JOIN pg_catalog.pg_namespace n ON n.nspname = r.schema
        JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.name)

-- Whether the journal exists (no online migration ever ran when it does not). Read from the
-- catalog, not with to_regclass(), which fails for a role without USAGE on the schema.
-- Parameters: none. Columns: exists boolean.
SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'uuidpk' AND c.relname = 'online_migration') AS exists

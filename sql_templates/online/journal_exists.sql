-- Whether the journal exists (no online migration ever ran when it does not).
-- Parameters: none. Columns: exists boolean.
SELECT pg_catalog.to_regclass('uuidpk.online_migration') IS NOT NULL AS exists

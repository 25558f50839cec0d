-- The columns a fingerprint_run table made by an earlier uuidpk lacks (create_run_table.sql).
-- Parameters: none.
ALTER TABLE uuidpk.fingerprint_run
    ADD COLUMN IF NOT EXISTS schema_after jsonb,
    ADD COLUMN IF NOT EXISTS problems_before jsonb,
    ADD COLUMN IF NOT EXISTS online jsonb

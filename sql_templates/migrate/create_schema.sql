-- uuidpk's own schema: mapping tables, fingerprints, journals.
-- Parameters: none.
CREATE SCHEMA IF NOT EXISTS uuidpk

-- Whether an index exists and is valid (an interrupted CREATE INDEX CONCURRENTLY leaves it
-- INVALID: still maintained on every write, never used). Parameters: none.
-- Bind: %(index)s the qualified name as text. Columns: valid boolean (no row: absent).
SELECT i.indisvalid AS valid FROM pg_catalog.pg_index i
 WHERE i.indexrelid = pg_catalog.to_regclass(%(index)s)

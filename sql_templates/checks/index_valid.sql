-- True when the index exists and is valid: a failed CREATE INDEX CONCURRENTLY leaves an
-- invalid index behind that is still maintained on every write.
-- Parameters: {schema} {name} literals.
EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {name} AND i.indisvalid)

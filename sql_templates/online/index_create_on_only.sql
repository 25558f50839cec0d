-- The twin of an index of a partitioned table, on that table alone: CREATE INDEX CONCURRENTLY
-- is not supported on a partitioned table, and ON ONLY builds nothing (the index stays INVALID
-- until an index of every partition is ATTACHed to it). A catalog change under a brief SHARE
-- lock on the partitioned table only.
-- Parameters: {unique} "UNIQUE " or empty, {name} identifier, {table}.
CREATE {unique}INDEX {name} ON ONLY {table}

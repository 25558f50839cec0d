-- The start of a twin's CREATE INDEX CONCURRENTLY (index_create.sql up to its table): the same
-- index on one partition is this start for the partition, then the rest of the twin's text.
-- Parameters: {unique} "UNIQUE " or empty, {name} identifier, {table}.
CREATE {unique}INDEX CONCURRENTLY {name} ON {table}

-- A generated column over a converted column: PostgreSQL will not change the type under it.
-- Parameters: {column} identifier.
DROP COLUMN {column}

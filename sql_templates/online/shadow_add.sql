-- A nullable column without a default: a catalog change, no rewrite, a brief ACCESS EXCLUSIVE.
-- Parameters: {table} qualified identifier, {column} identifier.
ALTER TABLE {table} ADD COLUMN {column} uuid

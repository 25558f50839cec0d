-- Parameters: {table} qualified identifier, {column} identifier.
ALTER TABLE {table} DROP COLUMN IF EXISTS {column}

-- Parameters: {table} qualified identifier, {name} identifier.
ALTER TABLE {table} DROP CONSTRAINT {name}

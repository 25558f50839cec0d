-- Parameters: {table}, {name} identifier.
ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}

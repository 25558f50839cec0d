-- Parameters: {table}, {column} identifier, {name} identifier.
ALTER TABLE {table} RENAME COLUMN {column} TO {name}

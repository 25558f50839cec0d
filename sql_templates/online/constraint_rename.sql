-- Parameters: {table}, {name} identifier, {new_name} identifier.
ALTER TABLE {table} RENAME CONSTRAINT {name} TO {new_name}

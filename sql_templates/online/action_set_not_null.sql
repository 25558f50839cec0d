-- Parameters: {column} identifier.
ALTER COLUMN {column} SET NOT NULL

-- Parameters: {column} identifier.
ALTER COLUMN {column} DROP NOT NULL

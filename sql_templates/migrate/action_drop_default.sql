-- Parameters: {column} identifier.
ALTER COLUMN {column} DROP DEFAULT

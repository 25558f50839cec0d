-- Also drops the identity's sequence. Parameters: {column} identifier.
ALTER COLUMN {column} DROP IDENTITY IF EXISTS

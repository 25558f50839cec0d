-- A kept parent table, no longer needed.
-- Parameters: {name} qualified identifier.
DROP TABLE IF EXISTS {name}

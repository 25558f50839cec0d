-- Parameters: {name} identifier, {table} qualified identifier.
DROP TRIGGER IF EXISTS {name} ON {table}

-- Parameters: {name} identifier, {table} qualified identifier.
DROP TRIGGER {name} ON {table}

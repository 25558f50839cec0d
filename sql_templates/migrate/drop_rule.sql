-- Parameters: {name} identifier, {table} qualified identifier.
DROP RULE {name} ON {table}

-- Parameters: {name} identifier, {table} qualified identifier.
DROP POLICY {name} ON {table}

-- Parameters: {name} identifier, {table} qualified identifier, {comment} literal.
COMMENT ON CONSTRAINT {name} ON {table} IS {comment}

-- Parameters: {kind} VIEW / MATERIALIZED VIEW / COLUMN / INDEX, {object}, {comment} literal.
COMMENT ON {kind} {object} IS {comment}

-- Parameters: {kind} VIEW / MATERIALIZED VIEW / COLUMN, {object}, {comment} literal.
COMMENT ON {kind} {object} IS {comment}

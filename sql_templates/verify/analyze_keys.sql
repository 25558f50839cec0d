-- Statistics for kept keys (keep_keys.sql), so the planner builds its hash on them rather than
-- on a (perhaps larger) child table: a table made in this transaction has none until analyzed.
-- Parameters: {name} qualified identifier.
ANALYZE {name}

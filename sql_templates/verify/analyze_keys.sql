-- Statistics for kept keys (keep_keys.sql), so the planner builds its hash on them rather than
-- on a (perhaps larger) child table: autovacuum never analyzes temporary tables.
-- Parameters: {name} qualified identifier.
ANALYZE {name}

-- Whether a table holds no row at all (the planner's estimate may be stale): reads at most one
-- row. Read-only.
-- Parameters (identifiers, through psycopg.sql.Identifier): {table}.
-- Columns: empty
SELECT NOT EXISTS (SELECT FROM {table}) AS empty

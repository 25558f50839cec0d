-- The rows of a table that a CHECK expression refuses (NULL passes a CHECK, as in PostgreSQL).
-- Placeholders: {table}, {expression} (deparsed by pg_get_expr). Columns: violating
SELECT count(*)::int8 AS violating FROM {table} WHERE NOT coalesce({expression}, true)

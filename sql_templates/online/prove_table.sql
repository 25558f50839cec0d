-- Rows whose shadow is not the derivation of the old value (run in one REPEATABLE READ
-- snapshot over every table, before the cutover). Parameters: {table}, {mismatch} a condition.
-- Columns: rows bigint.
SELECT count(*) AS rows FROM {table} AS t WHERE {mismatch}

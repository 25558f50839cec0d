-- One batch of pages [%(after)s, %(after)s + %(size)s) by ctid range (a TID range scan on
-- PostgreSQL 14 and newer). Returns the next page and the rows filled.
-- Parameters: {table}, {assignments}. Columns: high_water text, rows bigint.
WITH batch AS (
    UPDATE {table} AS t SET {assignments}
     WHERE t.ctid >= format('(%%s,0)', coalesce(%(after)s::text::bigint, 0))::tid
       AND t.ctid < format('(%%s,0)', coalesce(%(after)s::text::bigint, 0) + %(size)s)::tid
    RETURNING 1
)
SELECT (coalesce(%(after)s::text::bigint, 0) + %(size)s)::text AS high_water, count(*) AS rows
  FROM batch

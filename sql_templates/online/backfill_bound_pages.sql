-- For a table without a single-column key: its size in pages, read after the fill trigger
-- exists (rows written later, wherever they land, were filled by the trigger).
-- Parameters: {table} text literal of the qualified name. Columns: bound text.
SELECT (pg_relation_size({table}::regclass) / current_setting('block_size')::int)::text AS bound

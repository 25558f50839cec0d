-- Which content types the rows of a generic relation actually use, and how many rows each: one
-- scan and one GROUP BY over the table, nothing per row. Read-only.
-- Parameters (identifiers, through psycopg.sql.Identifier): {table} the table holding the
--   generic relation, {content_type} its content-type column, {object} its object-id column.
-- Columns: content_type_id, rows
SELECT t.{content_type}::int8 AS content_type_id,
       count(*)::int8         AS rows
  FROM {table} AS t
 WHERE t.{content_type} IS NOT NULL
   AND t.{object} IS NOT NULL
 GROUP BY 1
 ORDER BY 1

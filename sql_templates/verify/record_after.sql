-- Measure one relation (measure_relation.sql) as it is now into pg_temp.uuidpk_after
-- (after_table.sql): an online migration's end, compared there with its proof's values.
-- Parameters: {measure} measure_relation.sql, {rows} as record_values.sql; {run} unused.
INSERT INTO pg_temp.uuidpk_after (kind, object, row_count, hash)
SELECT v.kind, v.object, v.row_count, v.hash
  FROM ({measure}) AS m
 CROSS JOIN LATERAL (VALUES {rows}) AS v(kind, object, row_count, hash)

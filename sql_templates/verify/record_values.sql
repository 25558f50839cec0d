-- Measure one relation (measure_relation.sql) and keep its values in the current run, in one
-- statement: apply runs it, and `generate` prints it into its script.
-- Parameters: {run} current_run.sql, {measure} measure_relation.sql, {rows} one
--             "('kind', 'object', m.<count column>, m.<hash column> or NULL)" per value.
INSERT INTO uuidpk.fingerprint (run_id, kind, object, row_count, hash)
SELECT {run}, v.kind, v.object, v.row_count, v.hash
  FROM ({measure}) AS m
 CROSS JOIN LATERAL (VALUES {rows}) AS v(kind, object, row_count, hash)

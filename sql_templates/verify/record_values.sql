-- Keep one relation's measures (measure_into.sql) in the current run: apply runs it, and
-- `generate` prints it into its script.
-- Parameters: {run} current_run.sql, {source} the measures' table, {rows} one
--             "('kind', 'object', m.<count column>, m.<hash column> or NULL)" per value.
INSERT INTO uuidpk.fingerprint (run_id, kind, object, row_count, hash)
SELECT {run}, v.kind, v.object, v.row_count, v.hash
  FROM {source} AS m
 CROSS JOIN LATERAL (VALUES {rows}) AS v(kind, object, row_count, hash)

-- Every backfill of a migration. Parameters: none. Bind: %(migration)s.
-- Columns: step_id, bound, high_water, rows_done, rows_total, batches, seconds.
SELECT step_id, bound, high_water, rows_done, rows_total, batches, seconds
  FROM uuidpk.online_backfill WHERE migration_id = %(migration)s ORDER BY step_id

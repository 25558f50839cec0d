-- Parameters: none. Bind: %(migration)s, %(id)s.
-- Columns: bound, high_water, rows_done, rows_total, batches, seconds.
SELECT bound, high_water, rows_done, rows_total, batches, seconds FROM uuidpk.online_backfill
 WHERE migration_id = %(migration)s AND step_id = %(id)s

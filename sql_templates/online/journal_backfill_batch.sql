-- A batch's bookkeeping, in the batch's own transaction: a kill -9 loses both or neither.
-- Parameters: none. Bind: %(migration)s, %(id)s, %(high_water)s, %(rows)s, %(seconds)s.
UPDATE uuidpk.online_backfill
   SET high_water = %(high_water)s, rows_done = rows_done + %(rows)s, batches = batches + 1,
       seconds = seconds + %(seconds)s
 WHERE migration_id = %(migration)s AND step_id = %(id)s

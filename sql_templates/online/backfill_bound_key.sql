-- The backfill's end, read after the fill trigger exists: every row with a larger key was
-- written with the trigger in place, so the backfill terminates under constant inserts.
-- Parameters: {table}, {key} identifier. Columns: bound text (NULL: empty table).
SELECT max({key})::text AS bound FROM {table}

-- The backfill's end, read after the fill trigger exists: every row with a larger key was
-- written with the trigger in place, so the backfill terminates under constant inserts.
-- ORDER BY ... LIMIT 1 rather than max(): any btree-ordered key works (uuid has no max()).
-- Parameters: {table}, {key} identifier. Columns: bound text (no row: empty table).
SELECT {key}::text AS bound FROM {table} ORDER BY {key} DESC LIMIT 1

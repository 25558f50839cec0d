-- The end of one backfill, recorded once: a resumed run keeps the first bound.
-- Parameters: none. Bind: %(migration)s, %(id)s, %(bound)s, %(total)s.
INSERT INTO uuidpk.online_backfill (migration_id, step_id, bound, rows_total)
VALUES (%(migration)s, %(id)s, %(bound)s, %(total)s)
ON CONFLICT (migration_id, step_id) DO NOTHING

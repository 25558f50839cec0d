-- One migration's row. Parameters: none. Bind: %(migration)s.
-- Columns: id, started_at, finished_at, state, options.
SELECT id, started_at, finished_at, state, options FROM uuidpk.online_migration
 WHERE id = %(migration)s

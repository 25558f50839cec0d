-- The migration still running, if any. Parameters: none.
-- Columns: id, started_at, options.
SELECT id, started_at, options FROM uuidpk.online_migration WHERE state = 'running'
 ORDER BY id DESC LIMIT 1

-- The latest migration in any state. Parameters: none.
-- Columns: id, started_at, finished_at, state, options.
SELECT id, started_at, finished_at, state, options FROM uuidpk.online_migration
 ORDER BY id DESC LIMIT 1

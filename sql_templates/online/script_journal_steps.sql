-- Every step of a psql script's migration as the script renders it (uuidpk abort runs their
-- undo statements; a resumed apply --online their statements). Once: a rerun adds nothing.
-- Parameters: {migration} script_migration.sql; {rows} (position, id, phase, spec) rows.
INSERT INTO uuidpk.online_step (migration_id, position, id, phase, spec)
SELECT {migration}, s.position, s.id, s.phase, s.spec::jsonb
  FROM (VALUES
{rows}
       ) AS s (position, id, phase, spec)
ON CONFLICT DO NOTHING

-- Close an online migration's fingerprint at its end, once: the latest online run, when it is
-- still "proved" (a resumed or repeated close changes nothing, and never reaches back to an
-- older run). Each value that moved since the proof (pg_temp.uuidpk_after, measured in this
-- snapshot) replaces the proof's, the tables and foreign keys they belong to are named in
-- online.tables and online.foreign_keys, the proof's counts of what moved are kept in
-- online.at_proof ([{kind, object, rows}]), and the schema the migration left is recorded.
-- Parameters: {objects} schema_objects.sql.
WITH run AS (
    SELECT l.id
      FROM (SELECT r.id, r.online
              FROM uuidpk.fingerprint_run AS r
             WHERE r.online IS NOT NULL
             ORDER BY r.id DESC
             LIMIT 1) AS l
     WHERE l.online ->> 'state' = 'proved'
), proof AS (
    -- The proof's values, as this statement found them (its UPDATE cannot see them after).
    SELECT f.kind, f.object, f.row_count
      FROM uuidpk.fingerprint AS f, run
     WHERE f.run_id = run.id
), moved AS (
    UPDATE uuidpk.fingerprint AS f
       SET row_count = a.row_count, hash = a.hash
      FROM pg_temp.uuidpk_after AS a, run
     WHERE f.run_id = run.id AND f.kind = a.kind AND f.object = a.object
       AND (f.row_count, f.hash) IS DISTINCT FROM (a.row_count, a.hash)
    RETURNING f.kind, f.object
)
UPDATE uuidpk.fingerprint_run AS r
   SET schema_after = ({objects})::jsonb,
       online = r.online || jsonb_build_object(
           'state', 'finished',
           'tables', coalesce((SELECT jsonb_agg(DISTINCT m.object ORDER BY m.object)
                                 FROM moved AS m WHERE m.kind = 'table'), '[]'::jsonb),
           'foreign_keys', coalesce((SELECT jsonb_agg(DISTINCT m.object ORDER BY m.object)
                                       FROM moved AS m WHERE m.kind <> 'table'), '[]'::jsonb),
           'at_proof', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', p.kind,
                                                                     'object', p.object,
                                                                     'rows', p.row_count)
                                                  ORDER BY p.kind, p.object)
                                   FROM moved AS m
                                   JOIN proof AS p ON p.kind = m.kind AND p.object = m.object),
                                '[]'::jsonb))
  FROM run
 WHERE r.id = run.id

-- Keep in the current run the schema the migration leaves (schema_objects.sql), just before
-- commit: what a later verify compares the catalog with.
-- Parameters: {objects} schema_objects.sql, {run} current_run.sql.
UPDATE uuidpk.fingerprint_run
   SET schema_after = ({objects})::jsonb
 WHERE id = {run}

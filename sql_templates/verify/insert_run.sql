-- Start a fingerprint run.
-- Parameters: %(spec)s jsonb.
-- Columns: id, taken_at
INSERT INTO uuidpk.fingerprint_run (spec) VALUES (%(spec)s)
RETURNING id, taken_at

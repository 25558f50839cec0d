-- Start a fingerprint run.
-- Parameters: {spec} jsonb literal.
INSERT INTO uuidpk.fingerprint_run (spec) VALUES ({spec}::jsonb)

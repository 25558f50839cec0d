-- Close an online migration's fingerprint: what changed between the proof and the end.
-- Parameters: %(run_id)s bigint, %(online)s jsonb merged into the run's online state.
UPDATE uuidpk.fingerprint_run
   SET online = online || %(online)s::jsonb
 WHERE id = %(run_id)s

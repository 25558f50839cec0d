-- One measured value of a run.
-- Parameters: %(run_id)s, %(kind)s, %(object)s, %(row_count)s, %(hash)s.
INSERT INTO uuidpk.fingerprint (run_id, kind, object, row_count, hash)
VALUES (%(run_id)s, %(kind)s, %(object)s, %(row_count)s, %(hash)s)

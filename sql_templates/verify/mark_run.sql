-- Record what a verify found.
-- Parameters: %(run_id)s, %(status)s 'verified' or 'failed'.
UPDATE uuidpk.fingerprint_run SET status = %(status)s WHERE id = %(run_id)s

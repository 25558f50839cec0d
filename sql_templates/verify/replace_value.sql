-- One measured value of a run, measured again (an online migration's end: a table the
-- application wrote to after the proof).
-- Parameters: %(run_id)s, %(kind)s, %(object)s, %(row_count)s, %(hash)s numeric or NULL.
UPDATE uuidpk.fingerprint
   SET row_count = %(row_count)s, hash = %(hash)s
 WHERE run_id = %(run_id)s AND kind = %(kind)s AND object = %(object)s

-- Whether this database holds uuidpk's fingerprint tables at all.
-- Parameters: none.
-- Columns: present
SELECT to_regclass('uuidpk.fingerprint_run') IS NOT NULL
   AND to_regclass('uuidpk.fingerprint') IS NOT NULL AS present

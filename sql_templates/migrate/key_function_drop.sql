-- Forget the derivation (and with it the key) before the transaction ends.
-- Parameters: none.
DROP FUNCTION pg_temp.uuidpk_uuid(text, text)

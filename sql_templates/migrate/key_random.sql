-- Make the derivation functions inside the server, with a key that never appears in a
-- statement's text: not in the server log (log_statement), not in pg_stat_activity, not in an
-- error's CONTEXT. {key} is a fresh random key (made here, never sent, printed or stored: new
-- values are as unpredictable as gen_random_uuid()) or the kept key read back from key_set.sql's
-- setting, which is cleared at once. Each statement is one of derive_function*.sql with the key
-- as format()'s %1$L. A failing EXECUTE would quote its statement, key included, in the error's
-- CONTEXT (logged with it): the handler raises the message alone instead. A key shorter than
-- 16 bytes (the setting was never made, or is gone) is refused rather than derived from.
-- Parameters: {key} an expression giving the key as text '\x<hex>'; {statements} EXECUTE lines.
DO $uuidpk$
DECLARE
    k text := {key};
BEGIN
    PERFORM set_config('uuidpk.key', '', false);
    IF length(k) < 34 THEN
        RAISE EXCEPTION 'uuidpk: no derivation key was set (run key_set.sql first)';
    END IF;
{statements}
EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION USING MESSAGE = SQLERRM, ERRCODE = SQLSTATE;
END
$uuidpk$

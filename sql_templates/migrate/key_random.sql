-- A fresh random key made inside the server: never sent, printed or stored, gone with the
-- session, so new values are as unpredictable as gen_random_uuid(). Each statement is one of
-- derive_function*.sql with its key as format()'s %1$L.
-- Parameters: {statements} EXECUTE lines.
DO $uuidpk$
DECLARE
    k text := '\x' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
BEGIN
{statements}
END
$uuidpk$

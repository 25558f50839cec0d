-- The derivation with a fresh random key made inside the server: it is never sent, printed or
-- stored, and it vanishes with the session, so the new values are as unpredictable as
-- gen_random_uuid(). Same body as key_function_kept.sql.
-- Parameters: none.
DO $uuidpk$
BEGIN
    EXECUTE format(
        $f$CREATE FUNCTION pg_temp.uuidpk_uuid(root text, v text) RETURNS uuid
               LANGUAGE sql IMMUTABLE PARALLEL SAFE
               AS $b$SELECT overlay(overlay(encode(substring(sha256(%L::bytea || decode(replace(root, '\', '\\'), 'escape') || '\x00'::bytea || decode(replace(v, '\', '\\'), 'escape')) FROM 1 FOR 16), 'hex') PLACING '8' FROM 13) PLACING '8' FROM 17)::uuid$b$$f$,
        '\x' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
END
$uuidpk$

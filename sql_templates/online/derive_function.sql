-- The derivation of ../migrate/derive_function.sql (same bytes hashed, same bits set: the same
-- values as an offline apply with the same key), reading the key from uuidpk.online_key.
-- SECURITY DEFINER with a fixed search_path: the fill triggers call it from the application's
-- sessions, whose roles can neither read the key table nor see the key in pg_proc.prosrc.
-- Parameters: {value_type} text or bigint; {volatility}; {root_bytes}, {value_bytes} as in
-- ../migrate/derive_function.sql.
CREATE FUNCTION uuidpk.online_uuid(root text, v {value_type}) RETURNS uuid
    LANGUAGE sql {volatility} STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $b$SELECT encode(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(substring(sha256((SELECT k.key FROM uuidpk.online_key k) || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 1 FOR 16), 55, 1), 54, 0), 53, 0), 52, 0), 71, 1), 70, 0), 69, 0), 68, 0), 'hex')::uuid$b$

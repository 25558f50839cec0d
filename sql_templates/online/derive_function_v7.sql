-- The time-ordered derivation of ../migrate/derive_function_v7.sql, reading the key as
-- derive_function.sql does. Parameters: as there.
CREATE FUNCTION uuidpk.online_uuid7(root text, v {value_type}, ms bigint) RETURNS uuid
    LANGUAGE sql {volatility} STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $b$SELECT encode(substring(int8send(ms) FROM 3) || set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(substring(sha256((SELECT k.key FROM uuidpk.online_key k) || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 7 FOR 10), 7, 0), 6, 1), 5, 1), 4, 1), 23, 1), 22, 0), 21, 0), 20, 0), 'hex')::uuid$b$

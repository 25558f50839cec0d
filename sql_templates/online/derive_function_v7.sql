-- The time-ordered derivation of ../migrate/derive_function_v7.sql, with the key as an
-- argument as in derive_function.sql. Parameters: as there.
CREATE FUNCTION uuidpk.online_uuid7_k(key bytea, root text, v {value_type}, ms bigint) RETURNS uuid
    LANGUAGE sql {volatility} PARALLEL SAFE
    AS $b$SELECT encode(substring(int8send(ms) FROM 3) || set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(substring(sha256(key || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 7 FOR 10), 7, 0), 6, 1), 5, 1), 4, 1), 23, 1), 22, 0), 21, 0), 20, 0), 'hex')::uuid$b$

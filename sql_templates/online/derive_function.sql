-- The derivation of ../migrate/derive_function.sql (same bytes hashed, same bits set: the same
-- values as an offline apply with the same key), with the key as an argument: a one-expression
-- SQL function without SECURITY DEFINER, so PostgreSQL inlines it into the backfill's UPDATE,
-- whose key argument is a sub-select of uuidpk.online_key evaluated once per statement.
-- Parameters: {value_type} text or bigint; {volatility}; {root_bytes}, {value_bytes} as in
-- ../migrate/derive_function.sql.
CREATE FUNCTION uuidpk.online_uuid_k(key bytea, root text, v {value_type}) RETURNS uuid
    LANGUAGE sql {volatility} PARALLEL SAFE
    AS $b$SELECT encode(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(substring(sha256(key || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 1 FOR 16), 55, 1), 54, 0), 53, 0), 52, 0), 71, 1), 70, 0), 69, 0), 68, 0), 'hex')::uuid$b$

-- The derivation: uuid = sha256(key || root || 0x00 || value) cut to 128 bits, version and
-- variant nibbles set to 8 (RFC 9562 version 8). A single-expression SQL function, so
-- PostgreSQL inlines it (and, IMMUTABLE, folds the constant prefix once per statement).
-- In pg_temp: it disappears with the session.
-- Parameters: {key} the key as a bytea literal (or a format() placeholder inside a DO block);
-- {volatility}; {root_bytes}, {value_bytes}: the UTF-8 bytes of root and v (text_bytes_*.sql).
CREATE FUNCTION pg_temp.uuidpk_uuid(root text, v text) RETURNS uuid
    LANGUAGE sql {volatility} PARALLEL SAFE
    AS $b$SELECT overlay(overlay(encode(substring(sha256({key}::bytea || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 1 FOR 16), 'hex') PLACING '8' FROM 13) PLACING '8' FROM 17)::uuid$b$

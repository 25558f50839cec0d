-- The derivation: uuid = sha256(key || root || 0x00 || value) cut to 128 bits, version and
-- variant nibbles set to 8 (RFC 9562 version 8) by set_bit (bit 55 is the top bit of byte 6,
-- bit 71 of byte 8). A single-expression SQL function, so PostgreSQL inlines it (and,
-- IMMUTABLE, folds the constant prefix once per statement). In pg_temp: it disappears with the
-- session. Made twice: for text values and for integers (whose digits need no escaping).
-- Parameters: {key} the key as a bytea literal (or a format() placeholder inside a DO block);
-- {volatility}; {value_type} text or bigint; {root_bytes}, {value_bytes}: the UTF-8 bytes of
-- root and v (text_bytes_*.sql, integer_bytes.sql).
CREATE FUNCTION pg_temp.uuidpk_uuid(root text, v {value_type}) RETURNS uuid
    LANGUAGE sql {volatility} PARALLEL SAFE
    AS $b$SELECT encode(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(substring(sha256({key}::bytea || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 1 FOR 16), 55, 1), 54, 0), 53, 0), 52, 0), 71, 1), 70, 0), 69, 0), 68, 0), 'hex')::uuid$b$

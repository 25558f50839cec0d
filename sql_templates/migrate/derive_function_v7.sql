-- The time-ordered derivation (RFC 9562 version 7 layout): the low 48 bits of a millisecond
-- count (the row's timestamp, or its old id to keep id order), then version nibble 7 over
-- bytes 7-16 of the keyed hash of derive_function.sql, variant nibble 8. Rows sort by creation.
-- Parameters: as in derive_function.sql.
CREATE FUNCTION pg_temp.uuidpk_uuid7(root text, v {value_type}, ms bigint) RETURNS uuid
    LANGUAGE sql {volatility} PARALLEL SAFE
    AS $b$SELECT encode(substring(int8send(ms) FROM 3) || set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(substring(sha256({key}::bytea || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 7 FOR 10), 7, 0), 6, 1), 5, 1), 4, 1), 23, 1), 22, 0), 21, 0), 20, 0), 'hex')::uuid$b$

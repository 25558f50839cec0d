-- The time-ordered derivation (RFC 9562 version 7 layout): the first 48 bits are a millisecond
-- count (the row's timestamp, or its old id to keep id order), then the version nibble 7, the
-- keyed hash as in derive_function.sql, and the variant nibble 8. Rows sort by creation.
-- Parameters: as in derive_function.sql.
CREATE FUNCTION pg_temp.uuidpk_uuid7(root text, v text, ms bigint) RETURNS uuid
    LANGUAGE sql {volatility} PARALLEL SAFE
    AS $b$SELECT overlay(overlay(overlay(encode(substring(sha256({key}::bytea || {root_bytes} || '\x00'::bytea || {value_bytes}) FROM 1 FOR 16), 'hex') PLACING lpad(to_hex(ms), 12, '0') FROM 1 FOR 12) PLACING '7' FROM 13) PLACING '8' FROM 17)::uuid$b$

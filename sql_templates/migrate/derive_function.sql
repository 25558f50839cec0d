-- The derivation: uuid = sha256(key || root || 0x00 || value) cut to 128 bits, version and
-- variant nibbles set to 8 (RFC 9562 version 8). IMMUTABLE single-expression SQL, so PostgreSQL
-- inlines it and folds the constant prefix once per statement. In pg_temp: it disappears with
-- the session. decode(replace(.., '\', '\\'), 'escape') is the text's bytes, immutably.
-- Parameters: {key} the key as a bytea literal (or a format() placeholder inside a DO block).
CREATE FUNCTION pg_temp.uuidpk_uuid(root text, v text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $b$SELECT overlay(overlay(encode(substring(sha256({key}::bytea || decode(replace(root, '\', '\\'), 'escape') || '\x00'::bytea || decode(replace(v, '\', '\\'), 'escape')) FROM 1 FOR 16), 'hex') PLACING '8' FROM 13) PLACING '8' FROM 17)::uuid$b$

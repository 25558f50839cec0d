-- The derivation, with a key the user keeps: uuid = sha256(key || root || 0x00 || value),
-- version and variant nibbles set to 8. IMMUTABLE single-expression SQL, so PostgreSQL inlines
-- it and folds the constant prefix once per statement. pg_temp: it disappears with the session.
-- Parameters: {key} bytea literal.
CREATE FUNCTION pg_temp.uuidpk_uuid(root text, v text) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $uuidpk$SELECT overlay(overlay(encode(substring(sha256({key}::bytea || decode(replace(root, '\', '\\'), 'escape') || '\x00'::bytea || decode(replace(v, '\', '\\'), 'escape')) FROM 1 FOR 16), 'hex') PLACING '8' FROM 13) PLACING '8' FROM 17)::uuid$uuidpk$

-- The derivation for the fill triggers, which run in the application's sessions: SECURITY
-- DEFINER with a fixed search_path, it reads the key that the application's roles can neither
-- read (uuidpk.online_key has no privilege but its owner's) nor find in pg_proc.prosrc (no
-- function text holds it). Parameters: {value_type} text or bigint; {volatility}.
CREATE FUNCTION uuidpk.online_uuid(root text, v {value_type}) RETURNS uuid
    LANGUAGE sql {volatility} STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $b$SELECT uuidpk.online_uuid_k((SELECT k.key FROM uuidpk.online_key k), root, v)$b$

-- The time-ordered derivation for the fill triggers, as derive_function_definer.sql.
-- Parameters: {value_type} text or bigint; {volatility}.
CREATE FUNCTION uuidpk.online_uuid7(root text, v {value_type}, ms bigint) RETURNS uuid
    LANGUAGE sql {volatility} STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $b$SELECT uuidpk.online_uuid7_k((SELECT k.key FROM uuidpk.online_key k), root, v, ms)$b$

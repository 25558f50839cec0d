-- Facts about the server and the current session that change what uuidpk plans.
-- Parameters: none.
-- Columns: version_num, database, current_user, has_uuidv7, is_superuser, encoding
SELECT current_setting('server_version_num')::int4 AS version_num,
       current_database()                          AS database,
       current_user                                AS current_user,
       EXISTS (SELECT 1 FROM pg_proc
                WHERE proname = 'uuidv7' AND pronamespace = 'pg_catalog'::regnamespace)
                                                   AS has_uuidv7,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_encoding_to_char((SELECT encoding FROM pg_database
                             WHERE datname = current_database())) AS encoding

-- A kept key (--key-file), bound as a parameter: never part of a statement's text, so never in
-- pg_stat_statements, the server log or pg_stat_activity.
-- Parameters: none. Bind: %(key)s bytea.
INSERT INTO uuidpk.online_key (key) VALUES (%(key)s)

-- Hand the kept key (--key-file) to key_random.sql, which clears it (a session setting, not a
-- local one, so that it also reaches a DO run in its own transaction; a rollback undoes the set
-- like any other setting change). apply sends {key} as
-- a bound parameter (pg_stat_activity shows $1; hide_parameters.sql keeps it out of the log
-- where the role may); a generated script holds it as a literal. SELECT FROM: no column, so
-- psql prints no key back.
-- Parameters: {key} the key's hex digits, text.
SELECT FROM set_config('uuidpk.key', {key}, false)

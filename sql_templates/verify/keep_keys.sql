-- A parent's keys with their new values (f(old key)), for the length of one fingerprint inside
-- the migration: each child table joins these for its references' new values instead of
-- computing a sha256 per child row. Dropped right after (drop_keys.sql), and with the
-- transaction when it rolls back.
-- Parameters: {name} pg_temp.uuidpk_keys_<n>, {key} the key column, {derived} its derivation
--             (naming the column unqualified), {only} ONLY or nothing, {table} the parent.
-- Columns: k1 (old key), d1 (new key)
CREATE TEMPORARY TABLE {name} AS
SELECT {key} AS k1, {derived} AS d1
  FROM {only} {table}

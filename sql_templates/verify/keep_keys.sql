-- A parent's keys with their new values (f(old key)), for the length of one fingerprint inside
-- the migration: each child table joins these for its references' new values instead of
-- computing a sha256 per child row. An unlogged table in the tool's schema, not a temporary
-- one: parallel workers cannot read a temporary table (its pages live in the session's own
-- buffers), and unlogged, its rows never reach the WAL. Made and dropped (drop_keys.sql) inside
-- the migration's transaction, so no other session ever sees a row of it; a rollback takes it
-- too.
-- Parameters: {name} uuidpk.fingerprint_keys_<n>, {key} the key column, {derived} its
--             derivation (naming the column unqualified), {only} ONLY or nothing, {table} the
--             parent.
-- Columns: k1 (old key), d1 (new key)
CREATE UNLOGGED TABLE {name} AS
SELECT {key} AS k1, {derived} AS d1
  FROM {only} {table}

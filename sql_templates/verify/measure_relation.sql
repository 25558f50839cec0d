-- One scan of a table, joined on their keys to the parents of the closure's foreign keys
-- declared on it: its row count and multiset hash, and per foreign key the (child identity,
-- reference) pairs that find their parent (count, hash), the rows whose reference is NULL and
-- those whose reference finds no parent. The inner SELECT reads the table alone and names its
-- outputs uuidpk_v<i> (column i's value, as f(old value) for a converted column inside the
-- migration) and uuidpk_o<i> (a converted reference's old value, for the join): no user's
-- column name can meet a parent's, and the derivation expressions (which name columns
-- unqualified) resolve against the table alone. Read-only: it runs on a hot standby.
-- Parameters: {row_hash} row_hash.sql over c.uuidpk_v<i>, {columns} the inner outputs,
--             {only} ONLY or nothing, {table} qualified identifier, {fence} " OFFSET 0" or
--             nothing, {aggregates} ", " and fk_aggregates.sql per foreign key (or nothing),
--             {joins} parent_join.sql per foreign key.
-- Columns: row_count, hash, then what {aggregates} name, in that order. Sums of 64-bit hashes
-- fit numeric(40, 0) up to 10^20 rows; a bounded type keeps measure_into.sql's table without a
-- TOAST table (two more locks held to the end of the migration, per table measured).
SELECT count(*) AS row_count,
       sum({row_hash})::numeric(40, 0) AS hash{aggregates}
  FROM (SELECT {columns}
          FROM {only} {table}{fence}) AS c
{joins}

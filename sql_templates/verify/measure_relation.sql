-- One scan of a table, joined on their keys to the parents of the closure's foreign keys
-- declared on it: its row count and multiset hash, and per foreign key the (child identity,
-- reference) pairs that find their parent (count, hash), the rows whose reference is NULL and
-- those whose reference finds no parent. The inner SELECT reads the table alone, so that the
-- derivation expressions (which name columns unqualified) cannot meet a parent's column; it
-- names its outputs uuidpk_row, uuidpk_pair<n>, uuidpk_null<n>, uuidpk_f<n>_<i>. One query, so
-- PostgreSQL may run it in parallel. Read-only: it runs on a hot standby.
-- Parameters: {inner} the inner SELECT's output expressions, {aggregates} ", " and
--             fk_aggregates.sql per foreign key (or nothing), {only} ONLY or nothing,
--             {table} qualified identifier, {joins} parent_join.sql per foreign key.
-- Columns: row_count, hash, then what {aggregates} name, in that order.
SELECT count(*) AS row_count,
       sum(c.uuidpk_row) AS hash{aggregates}
  FROM (SELECT {inner}
          FROM {only} {table}) AS c
{joins}

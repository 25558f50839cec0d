-- One scan of a table, joined to the parent rows of the closure's foreign keys declared on it:
-- its row count and multiset hash, and per foreign key the pairs it joins (count, hash), the rows
-- whose reference is NULL and those whose reference finds no parent. Aliases: c the table,
-- p1, p2, ... the parents (parent_join.sql). One query, so PostgreSQL may run it in parallel.
-- Parameters: {aggregates} comma-separated aggregates (relation_aggregates.sql, fk_aggregates.sql),
--             {only} ONLY or nothing, {table} qualified identifier, {joins} parent joins.
-- Columns: row_count, then what {aggregates} name, in that order.
SELECT count(*) AS row_count,
       {aggregates}
  FROM {only} {table} AS c
{joins}

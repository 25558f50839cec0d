-- How many lock table entries a plan needs, and how many the server has.
-- Every relation a transaction locks takes an entry in the shared lock table until it ends
-- (only up to 16 weak locks per backend take the fast path instead): the tables with their
-- partitions, indexes and TOAST table and index. A table whose rewrite (ALTER COLUMN TYPE)
-- builds a new heap, new indexes and a new TOAST table locks each of those too, so counts
-- twice, as does a view dropped and created again. The table has max_locks_per_transaction *
-- (max_connections + max_prepared_transactions) entries that PostgreSQL guarantees (a little
-- more slack is shared with every other session); past it: "out of shared memory", after the
-- work done so far. Measured against real plans with their fingerprint: a little above what
-- they hold (netbox --all: 2892 estimated, 2720 held; saleor --all: 1012, 970).
-- Parameters: schemas, names (text[], parallel: the relations the plan locks),
--             rewritten (bool[], parallel: whether the plan rewrites or recreates it),
--             fingerprint (bool: apply records one), user_schemas (oid[]: the user's schemas,
--             where the fingerprint reads sequence_columns.sql, included as {sequence_columns})
-- Columns: needed, capacity, max_locks_per_transaction, max_connections,
--          max_prepared_transactions
WITH named AS (
    SELECT c.oid, bool_or(r.rewritten) AS rewritten
      FROM (SELECT * FROM unnest(%(schemas)s::text[], %(names)s::text[], %(rewritten)s::bool[])
                          AS r(schema, name, rewritten)) AS r
      JOIN pg_namespace n ON n.nspname = r.schema
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.name
     GROUP BY c.oid
    UNION ALL
    -- The fingerprint reads every sequence-fed column's sequence and max(): those sequences
    -- and tables (with their indexes, which the planner opens) are locked too.
    SELECT x.oid, false
      FROM ({sequence_columns}) AS f
     CROSS JOIN LATERAL (VALUES (f.sequence_oid::oid), (f.table_oid::oid)) AS x(oid)
     WHERE %(fingerprint)s
), tree AS (
    -- LOCK TABLE and ALTER TABLE on a partitioned table reach every partition, at any depth.
    SELECT named.oid AS relid, named.rewritten FROM named
    UNION
    SELECT t.relid, named.rewritten
      FROM named, pg_partition_tree(named.oid) t
), relations AS (
    SELECT relid, bool_or(rewritten) AS rewritten FROM tree GROUP BY relid
)
SELECT coalesce(sum(
           (1 + (SELECT count(*) FROM pg_index i WHERE i.indrelid = r.relid)
              + CASE WHEN c.reltoastrelid <> 0 THEN 2 ELSE 0 END)
           * CASE WHEN r.rewritten THEN 2 ELSE 1 END), 0)::int8       AS needed,
       (current_setting('max_locks_per_transaction')::int8
        * (current_setting('max_connections')::int8
           + current_setting('max_prepared_transactions')::int8))     AS capacity,
       current_setting('max_locks_per_transaction')::int8             AS max_locks_per_transaction,
       current_setting('max_connections')::int8                       AS max_connections,
       current_setting('max_prepared_transactions')::int8             AS max_prepared_transactions
  FROM relations r
  JOIN pg_class c ON c.oid = r.relid

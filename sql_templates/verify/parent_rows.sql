-- The rows of a parent table reduced to their key and the hash of their non-converted columns
-- (row_hash.sql): what a child row's reference leads to.
-- Parameters: {keys} "p.<ref column> AS k1, ...", {row_hash} row_hash.sql over alias p,
--             {only} ONLY or nothing, {table} qualified identifier.
-- Columns: k1, ..., h
SELECT {keys}, {row_hash} AS h
  FROM {only} {table} AS p

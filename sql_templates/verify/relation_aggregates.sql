-- The table's multiset hash, split in two sums by whether the first foreign key found its
-- parent (split on TRUE for a table without one). With a single foreign key the first sum is
-- the very aggregate fk_aggregates.sql asks for, and PostgreSQL computes identical aggregates
-- once: the table and its foreign key cost one row hash per row. The caller adds the two sums.
-- Parameters: {row_hash} the row's hash folded with each parent's (pair_hash.sql), {split} boolean.
sum({row_hash}) FILTER (WHERE {split}) AS hash_a,
sum({row_hash}) FILTER (WHERE NOT ({split})) AS hash_b

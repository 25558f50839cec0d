-- Statistics for the rewritten tables. ALTER COLUMN ... TYPE deletes the column's pg_statistic
-- rows, and autovacuum's analyze threshold counts changed rows, which a rewrite does not add to:
-- without this the planner guesses (a seq scan where an index lookup took 0.2 ms). ANALYZE
-- may run inside a transaction block; on a partitioned table it also samples each partition.
-- Parameters: {tables} comma-separated qualified identifiers.
ANALYZE {tables}

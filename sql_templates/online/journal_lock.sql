-- One online migration at a time per database (advisory locks are per database): a session
-- lock, held by the run's connection until it ends (a killed client's lock goes with its
-- session). Columns: locked boolean.
-- Parameters: none.
SELECT pg_try_advisory_lock(1969843793, 1) AS locked

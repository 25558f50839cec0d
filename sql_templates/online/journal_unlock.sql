-- Parameters: none.
SELECT pg_advisory_unlock(1969843793, 1)

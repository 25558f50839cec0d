-- Keep a parent's (key, hash) rows for the length of one measurement, when several foreign keys
-- reference that parent: each of them then joins these instead of hashing every parent row
-- again. UNLOGGED rather than TEMPORARY: PostgreSQL scans temporary tables only in the leader
-- process, never in parallel workers. Dropped by drop_parent_rows.sql in the same transaction.
-- Parameters: {name} qualified identifier (uuidpk schema, unique per backend), {rows}
--             parent_rows.sql.
CREATE UNLOGGED TABLE {name} AS
{rows}

-- A partitioned table's index takes the indexes attached to it along; it cannot be dropped
-- CONCURRENTLY. Parameters: {index} qualified identifier.
DROP INDEX IF EXISTS {index}

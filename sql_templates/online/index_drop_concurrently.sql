-- Parameters: {index} qualified identifier.
DROP INDEX CONCURRENTLY IF EXISTS {index}

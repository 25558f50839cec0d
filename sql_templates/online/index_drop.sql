-- Inside the cutover's transaction, which already holds ACCESS EXCLUSIVE on the table.
-- Parameters: {index} qualified identifier.
DROP INDEX {index}

-- The proof reads every table in one snapshot, and writes nothing: first statement of its
-- transaction. Parameters: none.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY

-- The proof with the fingerprint, and the fingerprint's close at the end: every table read in
-- one snapshot; it writes only uuidpk's own tables (not READ ONLY, unlike proof_snapshot.sql).
-- First statement of its transaction. Parameters: none.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ

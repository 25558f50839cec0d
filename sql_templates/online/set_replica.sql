-- For this batch only: ordinary triggers do not fire (the user's updated_at triggers would
-- change every row the backfill touches). Needs superuser, or on PostgreSQL 15+ the SET
-- privilege on the parameter.
-- Parameters: none.
SET LOCAL session_replication_role = replica

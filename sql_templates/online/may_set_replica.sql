-- Whether this role may set session_replication_role. Parameters: none.
-- Columns: allowed boolean.
SELECT r.rolsuper AS allowed FROM pg_catalog.pg_roles r WHERE r.rolname = current_user

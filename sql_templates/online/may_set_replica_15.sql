-- PostgreSQL 15+: SET can be granted on a superuser parameter. Parameters: none.
-- Columns: allowed boolean.
SELECT pg_catalog.has_parameter_privilege('session_replication_role', 'SET') AS allowed

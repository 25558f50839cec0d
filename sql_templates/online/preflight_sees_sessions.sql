-- Whether this role sees every session's transaction start in pg_stat_activity: other roles'
-- rows show NULL there unless it is a superuser or a member of pg_read_all_stats.
-- Parameters: none. Columns: sees_all (bool)
SELECT r.rolsuper OR pg_catalog.pg_has_role(r.oid, 'pg_read_all_stats', 'MEMBER') AS sees_all
  FROM pg_catalog.pg_roles r
 WHERE r.rolname = current_user

-- log_statement logs bound parameters (DETAIL: parameters: $1 = ...) unless
-- log_parameter_max_length is 0, which only a superuser (or a role granted SET on it,
-- PostgreSQL 15) may set: for this transaction, when the role may. Others' logs may keep it.
SELECT FROM set_config('log_parameter_max_length', '0', true)
 WHERE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    OR (current_setting('server_version_num')::int >= 150000
        AND has_parameter_privilege('log_parameter_max_length', 'SET'))

-- True when the table (or view) has a rule of that name.
-- Parameters: {schema} {table} {name} literals.
EXISTS (SELECT FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {table} AND r.rulename = {name})

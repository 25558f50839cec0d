-- True when the table has a row-level security policy of that name.
-- Parameters: {schema} {table} {name} literals.
EXISTS (SELECT FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {table} AND p.polname = {name})

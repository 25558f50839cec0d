-- True when the table (or view) has a trigger of that name.
-- Parameters: {schema} {table} {name} literals.
EXISTS (SELECT FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {table} AND t.tgname = {name})

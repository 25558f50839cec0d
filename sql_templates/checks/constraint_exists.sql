-- True when the table has a constraint of that name.
-- Parameters: {schema} {table} {name} literals.
EXISTS (SELECT FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {table} AND k.conname = {name})

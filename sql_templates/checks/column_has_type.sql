-- True when the column exists with the given type (a converted key reads uuid).
-- Parameters: {schema} {table} {column} {type} literals.
EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {table} AND a.attname = {column} AND NOT a.attisdropped AND a.atttypid = {type}::regtype)

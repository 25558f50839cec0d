-- True when the table has a (not dropped) column of that name.
-- Parameters: {schema} {table} {column} literals.
EXISTS (SELECT FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {table} AND a.attname = {column} AND NOT a.attisdropped)

-- True when a relation of that name and relkind (r table, v view, m materialized view,
-- S sequence) exists.
-- Parameters: {schema} {name} {kind} literals.
EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {schema} AND c.relname = {name} AND c.relkind = {kind})

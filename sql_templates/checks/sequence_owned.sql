-- True when the sequence is OWNED BY a column: an auto ('a', serial and OWNED BY) or internal
-- ('i', identity) dependency of the sequence on a table.
-- Parameters: {schema} {name} literals.
EXISTS (SELECT FROM pg_depend d JOIN pg_class c ON c.oid = d.objid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 AND c.relkind = 'S' AND n.nspname = {schema} AND c.relname = {name})

-- A CREATE statement exactly as PostgreSQL's own deparser wrote it (pg_get_triggerdef,
-- pg_get_ruledef, pg_get_indexdef), read with search_path = pg_catalog so names are qualified.
-- Parameters: {statement}.
{statement}

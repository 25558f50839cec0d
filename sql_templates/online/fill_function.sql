-- Fills a table's shadow columns from its old columns on every INSERT, and on every UPDATE
-- that names an old column (ON DELETE SET NULL and ON UPDATE CASCADE name them too). SECURITY
-- DEFINER: it runs as the migrating role, which may call the derivation.
-- Parameters: {function} qualified identifier; {assignments} fill_assignment.sql lines.
CREATE FUNCTION {function}() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $uuidpk_fill$
BEGIN
{assignments}
    RETURN NEW;
END
$uuidpk_fill$

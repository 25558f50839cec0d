-- uuidpk's own schema: mapping tables, fingerprints, journals. Made, and marked with a fixed
-- comment (uuidpk.model.TOOL_SCHEMA_MARKER), only when no schema uuidpk exists: the mark is how
-- a later catalog read tells the tool's schema from a user's schema that happens to be named
-- uuidpk, whose comment is never touched. (A user's schema is refused before this runs:
-- uuidpk.catalog.require_tool_schema.)
-- Parameters: none.
DO $uuidpk$
BEGIN
    IF to_regnamespace('uuidpk') IS NULL THEN
        CREATE SCHEMA uuidpk;
        COMMENT ON SCHEMA uuidpk IS 'uuidpk: made by the uuidpk tool for its mapping tables, fingerprints and journals';
    END IF;
END
$uuidpk$

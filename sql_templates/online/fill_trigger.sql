-- BEFORE, so the row is written once with its shadows; UPDATE OF the old columns only, so the
-- backfill's own UPDATEs (which set only shadows) do not fire it.
-- Parameters: {name} identifier, {table} qualified identifier, {columns} the old columns,
-- {function} qualified identifier.
CREATE TRIGGER {name} BEFORE INSERT OR UPDATE OF {columns} ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}()

-- The fill trigger fires in every session, also under session_replication_role = replica (a
-- logical replication subscriber's apply worker, a restore): a row written there without its
-- shadows would fail the proof before the cutover. The backfill's own UPDATEs never fire it
-- (they name no old column).
-- Parameters: {table} qualified identifier, {name} identifier.
ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}

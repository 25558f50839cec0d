-- A column's new value in the migrating session (backfill, proof): the inlined derivation, the
-- key read once per statement. Parameters: {root} text literal "schema.table"; {value} the old
-- value cast to bigint (integer columns) or text.
uuidpk.online_uuid_k((SELECT k.key FROM uuidpk.online_key AS k), {root}, {value})

-- The time-ordered value in the migrating session. Parameters: {root}, {value} as in
-- derive_call_keyed.sql; {ms} the old id as bigint (id order).
uuidpk.online_uuid7_k((SELECT k.key FROM uuidpk.online_key AS k), {root}, {value}, {ms})

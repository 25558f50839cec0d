-- A column's time-ordered new value. Parameters: {root}, {value} as in derive_call.sql; {ms}
-- the old id as bigint (id order).
uuidpk.online_uuid7({root}, {value}, {ms})

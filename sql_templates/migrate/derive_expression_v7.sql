-- The time-ordered new value of one column. Parameters: {root} text literal, {value} as in
-- derive_expression.sql, {ms} a bigint expression: the column itself (id order), the root's
-- timestamp column in milliseconds, or a look-up of the parent's timestamp by old value.
pg_temp.uuidpk_uuid7({root}, {value}, {ms})

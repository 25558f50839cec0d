-- A column's new value. Parameters: {root} text literal "schema.table"; {value} the old value
-- cast to bigint (integer columns) or text.
uuidpk.online_uuid({root}, {value})

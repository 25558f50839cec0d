-- The new value of one column, for ALTER ... TYPE uuid USING and for mapping tables.
-- Parameters: {root} text literal "schema.table" of the closure's root; {value} the column
-- cast to bigint (integer columns) or text.
pg_temp.uuidpk_uuid({root}, {value})

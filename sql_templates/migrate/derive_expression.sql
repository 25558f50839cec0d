-- The new value of one column, for ALTER ... TYPE uuid USING and for mapping tables.
-- Parameters: {root} text literal "schema.table" of the closure's root; {column} identifier.
pg_temp.uuidpk_uuid({root}, {column}::text)

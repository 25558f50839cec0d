-- Keep the old key value beside the new one.
-- Parameters: {table} qualified identifier, {column} identifier, {type} type name.
ALTER TABLE {table} ADD COLUMN {column} {type}

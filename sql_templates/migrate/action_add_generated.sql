-- The generated column back, computed over the new type in the same rewrite.
-- Parameters: {column} identifier, {type} type, {expression}.
ADD COLUMN {column} {type} GENERATED ALWAYS AS ({expression}) STORED

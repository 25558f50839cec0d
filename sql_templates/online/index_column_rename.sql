-- An index column keeps the name its table column had when the index was built; RENAME
-- COLUMN on the table does not follow into indexes. The twin's columns take the old names so
-- that the index reads as before (\d, pg_attribute). Catalog-only, under the cutover's lock.
-- Parameters: {index} qualified identifier, {column} identifier, {name} identifier.
ALTER TABLE {index} RENAME COLUMN {column} TO {name}

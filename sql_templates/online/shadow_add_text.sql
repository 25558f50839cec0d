-- The shadow of a generic relation's text object id (Django's admin log): it stays text and
-- holds the uuid's text. A catalog change, as shadow_add.sql.
-- Parameters: {table} qualified identifier, {column} identifier.
ALTER TABLE {table} ADD COLUMN {column} text

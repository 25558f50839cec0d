-- (old value, new uuid) for one root table, for references the database cannot see.
-- Parameters: {mapping} qualified identifier, {type} the old key's type.
CREATE TABLE {mapping} (old_value {type} PRIMARY KEY, new_value uuid NOT NULL UNIQUE)

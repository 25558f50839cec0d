-- NOT NULL proven without a long lock: the CHECK is added NOT VALID (no scan), validated later
-- under SHARE UPDATE EXCLUSIVE (writes go on), and at cutover SET NOT NULL uses the validated
-- CHECK instead of scanning the table (PostgreSQL 12 and newer).
-- Parameters: {table}, {name} identifier, {column} identifier.
ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IS NOT NULL) NOT VALID

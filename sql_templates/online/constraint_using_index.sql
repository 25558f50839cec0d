-- A primary key or unique constraint over a twin index built beforehand: no scan, and the
-- index takes the constraint's name. Parameters: {table}, {name}, {kind} PRIMARY KEY or
-- UNIQUE, {index} identifier, {deferrable} clause or empty.
ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {index}{deferrable}

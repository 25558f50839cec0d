-- Scans under SHARE UPDATE EXCLUSIVE (ROW SHARE on a referenced table): writes go on.
-- Validating a valid constraint does nothing, so a resumed run may repeat it.
-- Parameters: {table}, {name} identifier.
ALTER TABLE {table} VALIDATE CONSTRAINT {name}

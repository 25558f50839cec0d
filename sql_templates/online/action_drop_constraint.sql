-- Parameters: {name} identifier.
DROP CONSTRAINT {name}

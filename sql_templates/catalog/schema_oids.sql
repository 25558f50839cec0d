-- The oids of the user's schemas, read where the statement runs: for a psql script, which has
-- no catalog read to take them from. schemas.sql's rows but the tool's own schema: a script
-- that reads this (its fingerprint) has made or found the tool's schema just before (a schema
-- named uuidpk that the tool did not make stops generate from writing a fingerprint at all).
-- Parameters: {schemas} schemas.sql, {tool} the tool's schema name.
-- Columns: oid
SELECT s.oid::oid AS oid FROM ({schemas}) AS s WHERE s.name <> {tool}

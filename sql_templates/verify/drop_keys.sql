-- A table a fingerprint no longer needs: kept keys (keep_keys.sql) or one relation's measures
-- (measure_into.sql).
-- Parameters: {name} qualified identifier.
DROP TABLE {name}

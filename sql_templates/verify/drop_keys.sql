-- Kept keys (keep_keys.sql), no longer needed.
-- Parameters: {name} qualified identifier.
DROP TABLE {name}

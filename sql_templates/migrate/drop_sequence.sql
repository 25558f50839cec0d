-- A sequence that served only converted keys.
-- Parameters: {sequence} qualified identifier.
DROP SEQUENCE {sequence}

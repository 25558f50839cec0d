-- A sequence still used by other columns stays, but no longer belongs to a converted column.
-- Parameters: {sequence} qualified identifier.
ALTER SEQUENCE {sequence} OWNED BY NONE

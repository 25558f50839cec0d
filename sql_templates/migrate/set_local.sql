-- A setting for this transaction only.
-- Parameters: {name} identifier, {value} literal.
SET LOCAL {name} = {value}

-- Parameters: {column} identifier, {type} uuid (or text for a generic relation's text object
-- ids), {using} expression (derive_expression*.sql).
ALTER COLUMN {column} TYPE {type} USING {using}

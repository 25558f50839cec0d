-- Parameters: {column} identifier, {using} expression (derive_expression.sql).
ALTER COLUMN {column} TYPE uuid USING {using}

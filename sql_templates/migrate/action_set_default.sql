-- Parameters: {column} identifier, {default} expression.
ALTER COLUMN {column} SET DEFAULT {default}

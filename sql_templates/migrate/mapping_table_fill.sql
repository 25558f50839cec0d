-- Parameters: {mapping}, {table}, {key} identifier, {using} derive_expression.sql.
INSERT INTO {mapping} (old_value, new_value) SELECT {key}, {using} FROM {table}

-- Filled before the rewrite; the rewrite that follows leaves no dead tuples behind.
-- Parameters: {table}, {column} (the new column), {key} (the key column).
UPDATE {table} SET {column} = {key}

-- Statistics for the new columns (sampled; SHARE UPDATE EXCLUSIVE, writes go on).
-- Parameters: {table}.
ANALYZE {table}

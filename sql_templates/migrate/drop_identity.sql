-- Identity columns must stop being identity before their type can change; this also drops
-- the identity's internal sequence. Catalog-only: no rewrite.
-- Parameters: {table} qualified identifier, {column} identifier.
ALTER TABLE {table} ALTER COLUMN {column} DROP IDENTITY

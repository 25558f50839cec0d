-- One column's contribution to row_hash.sql, by its text (under pinned settings): for every type
-- but integers and uuid (column_hash_int.sql, column_hash_uuid.sql).
-- Parameters: {column} qualified column reference, {position} integer literal.
coalesce(hashtextextended({column}::text, {position}), {position})

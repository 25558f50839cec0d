-- One column's contribution to row_hash.sql.
-- Parameters: {column} qualified column reference, {position} integer literal.
coalesce(hashtextextended({column}::text, {position}), {position})

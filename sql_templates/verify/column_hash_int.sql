-- One integer column's contribution to row_hash.sql: its value hashed as bigint (smallint and
-- integer values hash as the same bigint would), not its text: as strong (one integer, one
-- text), without writing the text. Seeded with the position; a NULL is its own position.
-- Parameters: {column} qualified column reference, {position} integer literal.
coalesce(hashint8extended({column}::int8, {position}), {position})

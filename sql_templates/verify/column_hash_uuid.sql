-- One uuid column's contribution to row_hash.sql: its 16 bytes hashed, not its 36-character
-- text: as strong (one uuid, one text), without writing the text. Seeded with the position; a
-- NULL is its own position.
-- Parameters: {column} qualified column reference, {position} integer literal.
coalesce(uuid_hash_extended({column}, {position}), {position})

-- A 64-bit hash of some columns of one row: each column hashed with its position as seed (its
-- text under pinned settings, or an integer's or uuid's own hash), a NULL as its own position,
-- XOR-ed, and mixed once more. Cheaper than hashing ROW(...)::text (no record quoting) and
-- works for every type: every type has a text form. Sums of these over rows are multiset
-- hashes (duplicate rows count twice).
-- Parameters: {columns} column_hash*.sql terms joined with " # ", or 0 for no column.
hashint8extended({columns}, 0)

-- The measured values of one fingerprint run: per table its rows, per foreign key the
-- (child row, parent row) pairs it joins, the child rows whose reference is NULL and those whose
-- reference finds no parent. hash is a sum of 64-bit row hashes (a multiset hash), NULL for counts.
-- Parameters: none.
CREATE TABLE IF NOT EXISTS uuidpk.fingerprint (
    run_id    bigint NOT NULL REFERENCES uuidpk.fingerprint_run (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('table', 'fk', 'fk_nulls', 'fk_orphans')),
    object    text NOT NULL,
    row_count bigint NOT NULL,
    hash      numeric,
    PRIMARY KEY (run_id, kind, object)
)

-- One keyset batch: the next %(size)s keys after %(after)s (NULL: from the start) up to
-- %(bound)s, every shadow set from its old column. Returns the batch's last key (the next
-- high-water mark) and its row count.
-- Parameters: {table}, {key} identifier, {type} the key's type, {assignments}.
-- Columns: high_water text, rows bigint.
WITH batch AS (
    UPDATE {table} AS t SET {assignments}
     WHERE t.{key} IN (SELECT s.{key} FROM {table} AS s
                        WHERE (%(after)s::text IS NULL OR s.{key} > %(after)s::text::{type})
                          AND s.{key} <= %(bound)s::text::{type}
                        ORDER BY s.{key} LIMIT %(size)s)
    RETURNING t.{key}
)
SELECT (SELECT b.{key}::text FROM batch AS b ORDER BY b.{key} DESC LIMIT 1) AS high_water,
       (SELECT count(*) FROM batch) AS rows

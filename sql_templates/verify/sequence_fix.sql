-- Move a sequence past the largest (counting down: smallest) value of a column it feeds, in one
-- statement so the value is fresh, and never backwards: nextval() may have moved meanwhile.
-- Parameters: {sequence} qualified identifier, {extreme} max or min, {further} greatest or
--             least, {column} identifier, {table} qualified identifier, %(sequence_oid)s.
-- Columns: value (the sequence's new last value; the next nextval() returns the one after)
SELECT setval(%(sequence_oid)s::oid::regclass,
              {further}(s.last_value, (SELECT {extreme}(t.{column}) FROM {table} AS t)),
              true)::int8                               AS value
  FROM {sequence} AS s

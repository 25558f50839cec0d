-- Where a sequence stands against one column it feeds: its last value, whether nextval() has
-- handed that value out already, and the column's largest (counting down: smallest) value.
-- Parameters: {sequence} qualified identifier, {extreme} max or min, {column} identifier,
--             {table} qualified identifier.
-- Columns: last_value, is_called, extreme
SELECT s.last_value::int8                               AS last_value,
       s.is_called                                      AS is_called,
       (SELECT {extreme}(t.{column}) FROM {table} AS t)::int8 AS extreme
  FROM {sequence} AS s

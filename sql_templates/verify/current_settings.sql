-- The current values of some settings, to put them back after measuring.
-- Parameters: %(names)s text[].
-- Columns: name, value
SELECT s.name, current_setting(s.name) AS value
  FROM unnest(%(names)s::text[]) AS s(name)

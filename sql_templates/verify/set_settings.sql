-- Settings for the rest of this transaction only (SET LOCAL), several in one statement.
-- Parameters: %(names)s text[], %(values)s text[] (same length).
-- Columns: set_config
SELECT set_config(s.name, s.value, true)
  FROM unnest(%(names)s::text[], %(values)s::text[]) AS s(name, value)

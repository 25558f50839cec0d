-- Put back the values pin_settings.sql kept, for the rest of this transaction.
-- Parameters: {names} text[] literal.
SELECT set_config(s.name, current_setting('uuidpk.saved_' || s.name), true)
  FROM unnest({names}::text[]) AS s(name)

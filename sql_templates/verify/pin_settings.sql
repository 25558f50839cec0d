-- Settings for the rest of this transaction only (set_config(..., true) is SET LOCAL), each
-- session value kept first under uuidpk.saved_<name> (unpin_settings.sql puts it back). Allowed
-- in a read-only transaction and on a hot standby.
-- Parameters: {names} text[] literal, {values} text[] expression (same length).
SELECT set_config('uuidpk.saved_' || s.name, current_setting(s.name), true),
       set_config(s.name, s.value, true)
  FROM unnest({names}::text[], {values}::text[]) WITH ORDINALITY AS s(name, value, i)
 ORDER BY s.i

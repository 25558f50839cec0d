-- The journal's id of the running migration of a psql script, found by the script's token (a
-- script run again from one of its markers, in a new session, still finds it).
-- Parameters: {token} the script's token (literal).
(SELECT m.id FROM uuidpk.online_migration m
  WHERE m.options ->> 'script' = {token} AND m.state = 'running'
  ORDER BY m.id DESC LIMIT 1)

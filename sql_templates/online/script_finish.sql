-- A psql script ran its last step. Parameters: {token} the script's token (literal).
UPDATE uuidpk.online_migration SET state = 'done', finished_at = clock_timestamp()
 WHERE options ->> 'script' = {token} AND state = 'running'

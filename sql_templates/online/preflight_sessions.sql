-- Transactions of this database open for at least %(seconds)s seconds, other than ours.
-- CREATE INDEX CONCURRENTLY waits until every transaction older than its snapshots has ended
-- (idle in transaction too), and the cutover's lock queues behind any lock they hold.
-- Parameters: none. Bind: %(seconds)s float8.
-- Columns: pid, user_name, application, state, age_seconds
SELECT a.pid::int4 AS pid, coalesce(a.usename::text, '') AS user_name,
       coalesce(a.application_name, '') AS application, coalesce(a.state, '') AS state,
       extract(epoch FROM now() - a.xact_start)::float8 AS age_seconds
  FROM pg_catalog.pg_stat_activity a
 WHERE a.datname = current_database()
   AND a.pid <> pg_catalog.pg_backend_pid()
   AND a.xact_start IS NOT NULL
   AND a.backend_type = 'client backend'
   AND now() - a.xact_start >= make_interval(secs => %(seconds)s)
 ORDER BY a.xact_start, a.pid

-- Prepared transactions (PREPARE TRANSACTION) of this database, with the given tables they hold
-- locks on. Their locks stay until COMMIT PREPARED or ROLLBACK PREPARED, across restarts: a
-- concurrent index build waits for them, and the cutover cannot lock a table they hold.
-- pg_locks shows a prepared transaction's locks with a NULL pid, under the virtual transaction
-- that holds the lock on its own transaction id.
-- Parameters: none. Bind: %(tables)s int8[].
-- Columns: gid, owner, age_seconds, tables (oids, maybe empty)
SELECT p.gid, p.owner::text AS owner,
       extract(epoch FROM now() - p.prepared)::float8 AS age_seconds,
       ARRAY(
           SELECT DISTINCT l.relation::int8
             FROM pg_catalog.pg_locks l
            WHERE l.pid IS NULL AND l.locktype = 'relation'
              AND l.virtualtransaction IN (
                      SELECT x.virtualtransaction FROM pg_catalog.pg_locks x
                       WHERE x.pid IS NULL AND x.locktype = 'transactionid'
                         AND x.transactionid = p.transaction)
              AND l.relation = ANY(%(tables)s)
            ORDER BY 1
       ) AS tables
  FROM pg_catalog.pg_prepared_xacts p
 WHERE p.database = current_database()
 ORDER BY p.prepared, p.gid

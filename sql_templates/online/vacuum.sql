-- After the backfill: every batch left one dead row version per row. Vacuumed now, not by
-- autovacuum later, whose SHARE UPDATE EXCLUSIVE would hold off the brief locks the prepare
-- phase takes (our short lock_timeout never waits long enough for autovacuum to give way);
-- statistics for the new columns come with it. Writes go on (SHARE UPDATE EXCLUSIVE); an
-- autovacuum already running on the table cancels itself for this one. Not in a transaction.
-- Parameters: {table}.
VACUUM (ANALYZE) {table}

-- One relation's measures (measure_relation.sql, one row) into a temporary table, for
-- record_values.sql. PostgreSQL 15 runs INSERT ... SELECT in one process, CREATE TABLE AS with
-- parallel workers where the plan allows them (a scan hash-joined with kept keys).
-- Parameters: {name} pg_temp.uuidpk_measure, {measure} measure_relation.sql.
CREATE TEMPORARY TABLE {name} AS
{measure}

-- Every integer column fed by a sequence, in the user's schemas: defaults that call nextval()
-- (serial, Django's AutoField) and identity columns. A partition is left out when its parent's
-- column draws from the same sequence: the parent's maximum covers its rows. The one definition
-- of what the fingerprint reads (verify/record_problems.sql, `uuidpk sequences`), and so of
-- the privileges (missing_privileges.sql) and locks (lock_estimate.sql) that reading needs.
-- With {tables}, only the sequences that feed a column of those tables (or of their partitions:
-- pg_partition_tree returns nothing for a plain table),
-- with every column they feed: what a migration of those tables measures, locks and reads, so
-- that grows with its closure, not with the database.
-- Parameters: {schemas} (oid[]: the user's schemas: Catalog.schema_oids as a bound parameter,
--             or in a psql script ARRAY(schema_oids.sql)); {tables} (oid[], or NULL: all)
-- Columns: sequence_oid, sequence_schema, sequence_name, increment, table_oid, table_schema,
--          table_name, column_name
WITH uses AS (
    SELECT d.refobjid AS seq, ad.adrelid AS rel, ad.adnum AS attnum
      FROM pg_depend d
      JOIN pg_attrdef ad ON ad.oid = d.objid
     WHERE d.classid = 'pg_attrdef'::regclass
       AND d.refclassid = 'pg_class'::regclass
    UNION
    SELECT d.objid, d.refobjid, d.refobjsubid
      FROM pg_depend d
     WHERE d.classid = 'pg_class'::regclass
       AND d.refclassid = 'pg_class'::regclass
       AND d.deptype = 'i' AND d.refobjsubid > 0
)
SELECT s.oid::int8                                      AS sequence_oid,
       sn.nspname::text                                 AS sequence_schema,
       s.relname::text                                  AS sequence_name,
       sq.seqincrement::int8                            AS increment,
       c.oid::int8                                      AS table_oid,
       n.nspname::text                                  AS table_schema,
       c.relname::text                                  AS table_name,
       a.attname::text                                  AS column_name
  FROM uses u
  JOIN pg_class s      ON s.oid = u.seq AND s.relkind = 'S'
  JOIN pg_sequence sq  ON sq.seqrelid = s.oid
  JOIN pg_namespace sn ON sn.oid = s.relnamespace
  JOIN pg_class c      ON c.oid = u.rel AND c.relkind IN ('r', 'p')
  JOIN pg_namespace n  ON n.oid = c.relnamespace
  JOIN pg_attribute a  ON a.attrelid = c.oid AND a.attnum = u.attnum AND NOT a.attisdropped
 WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
   AND n.oid = ANY({schemas})
   AND ({tables} IS NULL OR u.seq IN (
            SELECT x.seq
              FROM uses x
             WHERE x.rel = ANY({tables})
                OR x.rel IN (SELECT p.relid
                               FROM unnest({tables}) AS t(oid),
                                    pg_partition_tree(t.oid::regclass) AS p)))
   AND NOT (c.relispartition AND EXISTS (
            SELECT 1
              FROM pg_inherits i
              JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
              JOIN uses pu ON pu.rel = i.inhparent AND pu.attnum = pa.attnum AND pu.seq = u.seq
             WHERE i.inhrelid = c.oid))
 ORDER BY n.nspname, c.relname, a.attname, sn.nspname, s.relname

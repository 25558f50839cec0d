-- Keep in the current run the problems there are already, before the change: every sequence
-- whose next value is not past the column it feeds (sequence_columns.sql; the same test as
-- sequence_position.sql, one query per column run by sequence_state_function.sql, so that
-- a psql script holds it as it is). A later verify tells these from new ones.
-- Parameters: {columns} sequence_columns.sql, {run} current_run.sql.
UPDATE uuidpk.fingerprint_run
   SET problems_before = (
       SELECT coalesce(jsonb_agg(jsonb_build_object(
                  'what', 'sequence',
                  'sequence_schema', sc.sequence_schema, 'sequence_name', sc.sequence_name,
                  'table_schema', sc.table_schema, 'table_name', sc.table_name,
                  'column', sc.column_name, 'next_value', p.next_value, 'extreme', p.extreme)
                  ORDER BY sc.sequence_schema, sc.sequence_name, sc.table_schema,
                           sc.table_name, sc.column_name), '[]'::jsonb)
         FROM ({columns}) AS sc
        CROSS JOIN LATERAL pg_temp.uuidpk_sequence_state(
              sc.sequence_schema, sc.sequence_name, sc.table_schema, sc.table_name,
              sc.column_name, sc.increment) AS p
        WHERE p.extreme IS NOT NULL
          AND CASE WHEN sc.increment > 0 THEN p.next_value <= p.extreme
                   ELSE p.next_value >= p.extreme END)
 WHERE id = {run}

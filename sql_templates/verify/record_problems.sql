-- Keep in the current run the problems there are already, before the change: every sequence
-- whose next value is not past the column it feeds (sequence_columns.sql; the same test as
-- sequence_position.sql, one query per column run by query_to_xml, so that this stays one
-- plain statement a psql script can hold). A later verify tells these from new ones.
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
        CROSS JOIN LATERAL query_to_xml(
              format('SELECT s.last_value, s.is_called, (SELECT %s(t.%I) FROM %I.%I AS t) AS extreme'
                     ' FROM %I.%I AS s',
                     CASE WHEN sc.increment > 0 THEN 'max' ELSE 'min' END, sc.column_name,
                     sc.table_schema, sc.table_name, sc.sequence_schema, sc.sequence_name),
              false, true, '') AS x(doc)
        CROSS JOIN LATERAL (
              SELECT (xpath('/row/extreme/text()', x.doc))[1]::text::numeric AS extreme,
                     CASE WHEN (xpath('/row/is_called/text()', x.doc))[1]::text::boolean
                          THEN (xpath('/row/last_value/text()', x.doc))[1]::text::numeric
                               + sc.increment
                          ELSE (xpath('/row/last_value/text()', x.doc))[1]::text::numeric
                     END AS next_value) AS p
        WHERE p.extreme IS NOT NULL
          AND CASE WHEN sc.increment > 0 THEN p.next_value <= p.extreme
                   ELSE p.next_value >= p.extreme END)
 WHERE id = {run}

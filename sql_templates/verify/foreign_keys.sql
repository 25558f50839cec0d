-- The foreign keys a fingerprint recorded, as the catalog has them now (NULLs when gone).
-- Parameters: %(foreign_keys)s jsonb array of {"schema", "table", "name"}.
-- Columns: position, found, validated, columns, ref_schema, ref_table, ref_columns
SELECT s.position::int4                                 AS position,
       co.oid IS NOT NULL                               AS found,
       co.convalidated                                  AS validated,
       ARRAY(SELECT a.attname::text
               FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, i)
               JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum
              ORDER BY k.i)                             AS columns,
       rn.nspname::text                                 AS ref_schema,
       r.relname::text                                  AS ref_table,
       ARRAY(SELECT a.attname::text
               FROM unnest(co.confkey) WITH ORDINALITY AS k(attnum, i)
               JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.attnum
              ORDER BY k.i)                             AS ref_columns
  FROM jsonb_array_elements(%(foreign_keys)s::jsonb) WITH ORDINALITY AS s(item, position)
  LEFT JOIN pg_namespace n  ON n.nspname = s.item->>'schema'
  LEFT JOIN pg_class c      ON c.relnamespace = n.oid AND c.relname = s.item->>'table'
  LEFT JOIN pg_constraint co
         ON co.conrelid = c.oid AND co.conname = s.item->>'name' AND co.contype = 'f'
  LEFT JOIN pg_class r      ON r.oid = co.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
 ORDER BY s.position

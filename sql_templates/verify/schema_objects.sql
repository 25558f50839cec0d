-- The schema on some tables, as a JSON array sorted by (what, schema, table, name): each
-- constraint with its definition (actions, DEFERRABLE and NOT VALID included), each index with
-- its definition, each column default, each NOT NULL column. Deparsed text depends on
-- search_path: run under pinned settings (pin_settings.sql). Tables not found are left out.
-- Parameters: {tables} jsonb literal, an array of {"schema", "name"}.
-- Columns: objects (jsonb as text: see run.sql)
WITH t AS (
    SELECT c.oid, n.nspname::text AS schema, c.relname::text AS "table"
      FROM jsonb_array_elements({tables}::jsonb) AS s(item)
      JOIN pg_namespace n ON n.nspname = s.item->>'schema'
      JOIN pg_class c     ON c.relnamespace = n.oid AND c.relname = s.item->>'name'
), objects AS (
    SELECT 'constraint' AS what, t.schema, t."table", co.conname::text AS name,
           pg_get_constraintdef(co.oid) AS definition
      FROM t
      JOIN pg_constraint co ON co.conrelid = t.oid
    UNION ALL
    SELECT 'index', t.schema, t."table", ic.relname::text, pg_get_indexdef(i.indexrelid)
      FROM t
      JOIN pg_index i  ON i.indrelid = t.oid
      JOIN pg_class ic ON ic.oid = i.indexrelid
    UNION ALL
    SELECT 'default', t.schema, t."table", a.attname::text, pg_get_expr(ad.adbin, ad.adrelid)
      FROM t
      JOIN pg_attrdef ad   ON ad.adrelid = t.oid
      JOIN pg_attribute a  ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
                          AND NOT a.attisdropped
    UNION ALL
    SELECT 'not null', t.schema, t."table", a.attname::text, 'NOT NULL'
      FROM t
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.attnotnull
)
SELECT coalesce(jsonb_agg(jsonb_build_object('what', o.what, 'schema', o.schema,
                                             'table', o."table", 'name', o.name,
                                             'definition', o.definition)
                          ORDER BY o.what, o.schema, o."table", o.name), '[]'::jsonb)::text AS objects
  FROM objects AS o

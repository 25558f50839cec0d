-- The columns a fingerprint recorded as converted, as the catalog has them now: their type,
-- identity, default, the sequences the default draws from and the sequences they own
-- (OWNED BY or identity). NULLs when a column is gone.
-- Parameters: %(columns)s jsonb array of {"schema", "table", "column"}.
-- Columns: position, found, type, is_uuid, identity, default_expr, default_sequences,
--          owned_sequences
SELECT s.position::int4                                 AS position,
       a.attnum IS NOT NULL                             AS found,
       format_type(a.atttypid, a.atttypmod)             AS type,
       coalesce(a.atttypid = 'uuid'::regtype, false)    AS is_uuid,
       coalesce(a.attidentity::text, '')                AS identity,
       pg_get_expr(ad.adbin, ad.adrelid)                AS default_expr,
       ARRAY(SELECT sn.nspname || '.' || sq.relname
               FROM pg_depend d
               JOIN pg_class sq     ON sq.oid = d.refobjid AND sq.relkind = 'S'
               JOIN pg_namespace sn ON sn.oid = sq.relnamespace
              WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                AND d.refclassid = 'pg_class'::regclass
              ORDER BY 1)                               AS default_sequences,
       ARRAY(SELECT sn.nspname || '.' || sq.relname
               FROM pg_depend d
               JOIN pg_class sq     ON sq.oid = d.objid AND sq.relkind = 'S'
               JOIN pg_namespace sn ON sn.oid = sq.relnamespace
              WHERE d.classid = 'pg_class'::regclass
                AND d.refclassid = 'pg_class'::regclass
                AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                AND d.deptype IN ('a', 'i')
              ORDER BY 1)                               AS owned_sequences
  FROM jsonb_array_elements(%(columns)s::jsonb) WITH ORDINALITY AS s(item, position)
  LEFT JOIN pg_namespace n ON n.nspname = s.item->>'schema'
  LEFT JOIN pg_class c     ON c.relnamespace = n.oid AND c.relname = s.item->>'table'
  LEFT JOIN pg_attribute a
         ON a.attrelid = c.oid AND a.attname = s.item->>'column' AND a.attnum > 0
        AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad  ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 ORDER BY s.position

-- Django's content types: which model each content_type_id names. Only run against a table that
-- the catalog read has shown to exist (uuidpk.softrefs.read_content_types finds it among the
-- catalog's tables first), so databases without Django never see this query.
-- Parameters (identifiers, through psycopg.sql.Identifier): {table} the django_content_type table.
-- Columns: id, app_label, model
SELECT ct.id::int8    AS id,
       ct.app_label   AS app_label,
       ct.model       AS model
  FROM {table} AS ct
 ORDER BY ct.id

-- Django's migration history: the latest applied migration of every app, "latest" by applied
-- time, then by name (migrations applied in one `migrate` run may share a timestamp to the
-- microsecond on a fast machine; their names are numbered). Only run against a table that the
-- catalog read has shown to exist (uuidpk.djangodb finds it among the catalog's tables first).
-- Parameters (identifiers, through psycopg.sql.Identifier): {table} the django_migrations table.
-- Columns: app, name
SELECT DISTINCT ON (m.app)
       m.app   AS app,
       m.name  AS name
  FROM {table} AS m
 ORDER BY m.app, m.applied DESC, m.name DESC

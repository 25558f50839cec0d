-- Parameters: none. Bind: %(options)s jsonb. Columns: id.
INSERT INTO uuidpk.online_migration (options) VALUES (%(options)s) RETURNING id

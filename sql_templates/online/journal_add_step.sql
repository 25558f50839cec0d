-- Parameters: none. Bind: %(migration)s, %(position)s, %(id)s, %(phase)s, %(spec)s jsonb.
INSERT INTO uuidpk.online_step (migration_id, position, id, phase, spec)
VALUES (%(migration)s, %(position)s, %(id)s, %(phase)s, %(spec)s)

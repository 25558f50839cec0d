-- No privilege for anyone but the owner: PostgreSQL grants none on a new table, but a default
-- privilege (ALTER DEFAULT PRIVILEGES) might have; revoke explicitly.
-- Parameters: none.
REVOKE ALL ON TABLE uuidpk.online_key FROM PUBLIC

-- A fresh random key made inside the server: never sent, printed or stored outside the table.
-- Parameters: none.
INSERT INTO uuidpk.online_key (key)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')

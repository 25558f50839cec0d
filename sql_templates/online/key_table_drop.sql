-- Forget the key: the table holds its only copy (a kept key stays in the user's file).
-- Parameters: none.
DROP TABLE IF EXISTS uuidpk.online_key

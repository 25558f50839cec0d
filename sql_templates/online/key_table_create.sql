-- The derivation key of the online migration in progress. It must outlive a crash of the
-- client (a resumed run and the fill triggers need the same key), so it is a table; it is read
-- only through the SECURITY DEFINER derivation function, and nobody but its owner may read it.
-- Parameters: none.
CREATE TABLE uuidpk.online_key (key bytea NOT NULL)

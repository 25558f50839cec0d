-- The kept key, as key_set.sql left it for key_random.sql (which clears it).
'\x' || current_setting('uuidpk.key')

-- The mapping table of ../migrate/mapping_table_fill.sql, written after the cutover from the
-- old column (which stays until the contract phase) and the new one the cutover made the key:
-- the proof showed every new value is the derivation of its old value. Rows added since the
-- cutover have no old value.
-- Parameters: {mapping}, {table}, {old} the old column, {new} the new column.
INSERT INTO {mapping} (old_value, new_value) SELECT {old}, {new} FROM {table} WHERE {old} IS NOT NULL

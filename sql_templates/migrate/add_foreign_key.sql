-- Restore a foreign key exactly: its name, columns, MATCH type, actions and deferrability.
-- Parameters: {table}, {name}, {columns}, {ref_table}, {ref_columns}, {match}, {on_update},
-- {on_delete}, {deferrable} (the trailing clause, possibly empty), {not_valid}.
ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) REFERENCES {ref_table} ({ref_columns}) MATCH {match} ON UPDATE {on_update} ON DELETE {on_delete}{deferrable}{not_valid}

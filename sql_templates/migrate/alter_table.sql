-- One ALTER TABLE per table carries all of its changes, so the table is rewritten once.
-- Parameters: {table} qualified identifier, {actions} comma-separated actions below.
ALTER TABLE {table} {actions}

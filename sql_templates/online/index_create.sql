-- The twin of an index on old columns, on their shadows, built without blocking writes. Not in
-- a transaction block; a failed or interrupted build leaves an INVALID index behind, which the
-- executor drops and builds again.
-- Parameters: {unique} "UNIQUE " or empty, {name} identifier, {table}, {method}, {columns},
-- {include} " INCLUDE (...)" or empty, {nulls} " NULLS NOT DISTINCT" or empty, {where}
-- " WHERE ..." or empty.
CREATE {unique}INDEX CONCURRENTLY {name} ON {table} USING {method} ({columns}){include}{nulls}{where}

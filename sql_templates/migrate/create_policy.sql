-- Parameters: {name}, {table}, {permissive} PERMISSIVE/RESTRICTIVE, {command}, {roles},
-- {using} (empty or " USING (...)"), {check} (empty or " WITH CHECK (...)").
CREATE POLICY {name} ON {table} AS {permissive} FOR {command} TO {roles}{using}{check}

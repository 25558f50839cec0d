-- The twin of a CHECK constraint on closure columns, over the shadows: NOT VALID takes a brief
-- lock and scans nothing; VALIDATE (constraint_validate.sql) scans without blocking writes.
-- Rows written meanwhile are checked as they come: the fill trigger runs BEFORE the check.
-- Parameters: {table} qualified identifier, {name} identifier, {definition} the original's
-- definition (CHECK (...) [NO INHERIT]) with its columns renamed to their shadows.
ALTER TABLE {table} ADD CONSTRAINT {name} {definition} NOT VALID

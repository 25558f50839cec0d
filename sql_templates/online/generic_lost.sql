-- A generic relation's row whose integer object id had a value and whose shadow has none: its
-- content type names no converted table (a row written since the plan was made).
-- Parameters: {column} the old column, {shadow} identifier.
(t.{column} IS NOT NULL AND t.{shadow} IS NULL)

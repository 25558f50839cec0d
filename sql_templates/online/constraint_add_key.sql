-- A partitioned table's primary key or unique constraint, made again at the cutover once every
-- partition has its own over the new columns (constraint_using_index.sql): PostgreSQL finds
-- each partition's equivalent constraint and attaches it instead of building an index.
-- Parameters: {table}, {name} identifier, {kind} PRIMARY KEY or UNIQUE, {nulls}
-- " NULLS NOT DISTINCT" or empty, {columns}, {include} " INCLUDE (...)" or empty,
-- {deferrable} clause or empty.
ALTER TABLE {table} ADD CONSTRAINT {name} {kind}{nulls} ({columns}){include}{deferrable}

-- Statistics for a kept parent table, so the planner hashes the parent side of each join
-- rather than the (perhaps larger) child side.
-- Parameters: {name} qualified identifier.
ANALYZE {name}

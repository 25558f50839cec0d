-- Each root row's timestamp in milliseconds, by old key value: children read their parent's
-- time here, so time-ordered values agree across the closure.
-- Parameters: {map} identifier (in pg_temp), {key} identifier, {ms} expression, {table}.
CREATE TEMPORARY TABLE {map} ON COMMIT DROP AS SELECT {key}::bigint AS old, {ms} AS ms FROM {table}

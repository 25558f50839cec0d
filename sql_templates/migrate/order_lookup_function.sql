-- The parent's milliseconds for an old value. STABLE and not inlinable (it holds a subquery),
-- which is what ALTER ... USING needs: USING itself may not contain a subquery.
-- Parameters: {function} qualified identifier, {map} identifier.
CREATE FUNCTION {function}(v bigint) RETURNS bigint LANGUAGE sql STABLE
    AS $b$SELECT ms FROM pg_temp.{map} WHERE old = v$b$

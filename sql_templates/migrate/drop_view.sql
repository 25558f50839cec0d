-- Views go before the type change (PostgreSQL refuses it while they stand), readers first.
-- Parameters: {kind} VIEW or MATERIALIZED VIEW, {view} qualified identifier.
DROP {kind} {view}

-- Parameters: {kind} TABLE / VIEW / MATERIALIZED VIEW, {object}, {owner} identifier.
ALTER {kind} {object} OWNER TO {owner}

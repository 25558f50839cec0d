-- One foreign key's measures, over the rows of the table it is declared on.
-- Parameters: {matched} "{alias}.k1 IS NOT NULL", {pair_hash} pair_hash.sql, {has_null} "some
--             FK column IS NULL" (MATCH SIMPLE does not check such a row), {pairs} {hash}
--             {nulls} {orphans} identifiers for the four columns.
-- Columns: the four, in that order.
count(*) FILTER (WHERE {matched}) AS {pairs},
(sum({pair_hash}) FILTER (WHERE {matched}))::numeric(40, 0) AS {hash},
count(*) FILTER (WHERE {has_null}) AS {nulls},
count(*) FILTER (WHERE NOT ({has_null}) AND NOT ({matched})) AS {orphans}

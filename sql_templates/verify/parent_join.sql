-- The parent row a foreign key leads to, as (k1, ..., h) from parent_rows.sql: inline as a
-- subquery, or kept in a table when several foreign keys reference the same parent. Inline,
-- PostgreSQL computes h once per parent row at its scan (a non-strict expression of the
-- nullable side of an outer join stays below the join), not once per child row. h is NULL
-- exactly when the child row has no parent.
-- Parameters: {source} "(parent_rows.sql)" or a kept table, {alias} p1, p2, ...,
--             {condition} "{alias}.k1 = c.<column> AND ...".
LEFT JOIN {source} AS {alias}
       ON {condition}

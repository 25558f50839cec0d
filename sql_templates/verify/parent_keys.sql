-- The keys of a parent table, what a child row's reference must find. Only the key: whether a
-- reference finds a parent is all the join decides; which parent it is, the pair hash proves
-- (the reference's own value, measured as f(old value) before the change).
-- Parameters: {keys} "p.<ref column> AS k1, ...", {only} ONLY or nothing, {table} qualified
--             identifier.
-- Columns: k1, ...
(SELECT {keys}
   FROM {only} {table} AS p)

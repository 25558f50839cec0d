-- The parent a foreign key's reference finds, if any: {alias}.k1 is NULL exactly when the child
-- row has no parent (a referenced key is never NULL).
-- Parameters: {source} parent_keys.sql, or kept keys (keep_keys.sql: k1 and d1, the new key),
--             {alias} p1, p2, ..., {condition} "{alias}.k1 = c.uuidpk_<o or v><i> AND ...".
LEFT JOIN {source} AS {alias}
       ON {condition}

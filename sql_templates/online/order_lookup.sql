-- --order-by for a child column: the milliseconds of the root row its old value names, read
-- through the root's old key (its primary key index exists until the contract phase). 0 when
-- there is none, as offline's order map. Parameters: {ms} milliseconds of uuidpk_root's
-- timestamp column; {table} the root table; {key} its old key; {value} the child's old value.
coalesce((SELECT {ms} FROM {table} AS uuidpk_root WHERE uuidpk_root.{key} = {value}), 0)

-- A child row's hash combined with a parent row's hash (0 when there is no parent): the hash of
-- the pair. Not commutative or linear, so swapping parents between child rows changes the sum.
-- Parameters: {child} an int8 hash, {parent} an int8 hash or NULL.
hashint8extended({child}, coalesce({parent}, 0))

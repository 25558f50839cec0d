-- A child row's identity hash combined with the hash of its reference: the hash of the pair.
-- Not commutative or linear, so swapping references between child rows changes the sum.
-- Parameters: {child} an int8 hash (row_hash.sql of the child's key, or of its whole row when it
--             has none), {parent} an int8 hash (row_hash.sql of the reference columns).
hashint8extended({child}, {parent})

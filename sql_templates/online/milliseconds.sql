-- A timestamp's milliseconds since the epoch, as offline computes them (--order-by).
-- Parameters: {column} a timestamp expression.
floor(extract(epoch FROM {column}) * 1000)::bigint

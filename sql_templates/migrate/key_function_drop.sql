-- Forget the derivation (and with it the key) before the transaction ends.
-- Parameters: {function} the function's name and argument types.
DROP FUNCTION {function}

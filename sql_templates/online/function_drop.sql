-- Parameters: {function} qualified name with argument types.
DROP FUNCTION IF EXISTS {function}

-- PostgreSQL grants EXECUTE on a new function to PUBLIC. Nobody else needs to call these: a
-- trigger's function is not checked for EXECUTE when the trigger fires.
-- Parameters: {function} qualified name with argument types.
REVOKE ALL ON FUNCTION {function} FROM PUBLIC

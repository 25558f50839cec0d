-- Parameters: {shadow} identifier, {expression} the derivation of the NEW row's old column.
    NEW.{shadow} := {expression};

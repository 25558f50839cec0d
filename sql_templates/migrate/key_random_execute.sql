-- One statement of key_random.sql. Parameters: {statement} a dollar-quoted string literal.
    EXECUTE format({statement}, k);

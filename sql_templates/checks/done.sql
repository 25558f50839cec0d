-- Whether a step already happened: one read-only query, one boolean.
-- Parameters: {condition} the step's checks joined by AND.
SELECT {condition} AS done

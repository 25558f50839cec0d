-- One row per fingerprint taken: when, what was measured (the spec, JSON), the schema the
-- migration left on the measured tables (schema_after: constraints, indexes, defaults, NOT NULL,
-- recorded just before commit), the problems there were already before the change
-- (problems_before: sequences behind their columns), whether a later verify found the database
-- unchanged, and for a run an online migration took, its state there (online: see
-- uuidpk/online_fingerprint.py).
-- Parameters: none.
CREATE TABLE IF NOT EXISTS uuidpk.fingerprint_run (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at        timestamptz NOT NULL DEFAULT now(),
    spec            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'recorded'
                    CHECK (status IN ('recorded', 'verified', 'failed')),
    schema_after    jsonb,
    problems_before jsonb,
    online          jsonb
)

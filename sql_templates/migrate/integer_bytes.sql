-- An integer's decimal digits as bytes (ASCII in every server encoding; no backslash to
-- escape, so the I/O cast to bytea is exact). IMMUTABLE.
-- Parameters: {value}.
{value}::text::bytea

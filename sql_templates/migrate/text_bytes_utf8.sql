-- A text's bytes in a UTF-8 database: escape-decoding with backslashes doubled gives exactly
-- the stored bytes, and is IMMUTABLE (convert_to is only STABLE), so the derivation inlines
-- and its constant parts fold.
-- Parameters: {text}.
decode(replace({text}, '\', '\\'), 'escape')

-- A text's UTF-8 bytes in a database of another encoding (the derivation hashes UTF-8, as
-- derive.py does). STABLE, so the derivation is declared STABLE too.
-- Parameters: {text}.
convert_to({text}, 'UTF8')

-- The view again, from the definition PostgreSQL deparsed (schema-qualified names).
-- Parameters: {view}, {options} (empty or " WITH (...)"), {definition}.
CREATE VIEW {view}{options} AS {definition}

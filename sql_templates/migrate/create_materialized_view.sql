-- Parameters: {view}, {options} (empty or " WITH (...)"), {definition}, {data} DATA or NO DATA.
CREATE MATERIALIZED VIEW {view}{options} AS {definition} WITH {data}

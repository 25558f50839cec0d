-- Where one sequence stands against one column it feeds, for record_problems.sql: the value the
-- next nextval() gives and the column's largest value (counting down: smallest). A pg_temp
-- function, so that each column's max() is its own query without query_to_xml (which needs a
-- server built with libxml) and without catalog names in any statement text: the names come as
-- arguments and reach the query only through format('%I').
-- Parameters: none.
CREATE OR REPLACE FUNCTION pg_temp.uuidpk_sequence_state(
    sequence_schema name, sequence_name name, table_schema name, table_name name,
    column_name name, increment bigint, OUT next_value numeric, OUT extreme numeric)
    LANGUAGE plpgsql
    AS $uuidpk$
DECLARE
    last numeric;
    called boolean;
BEGIN
    EXECUTE format('SELECT s.last_value, s.is_called, (SELECT %s(t.%I) FROM %I.%I AS t)'
                   ' FROM %I.%I AS s',
                   CASE WHEN increment > 0 THEN 'max' ELSE 'min' END, column_name,
                   table_schema, table_name, sequence_schema, sequence_name)
       INTO last, called, extreme;
    next_value := CASE WHEN called THEN last + increment ELSE last END;
END
$uuidpk$

-- Parameters: {privilege} SELECT, INSERT, UPDATE or REFERENCES; {column} identifier; {table};
-- {grantee} identifier or PUBLIC; {option} " WITH GRANT OPTION" or empty.
GRANT {privilege} ({column}) ON {table} TO {grantee}{option}

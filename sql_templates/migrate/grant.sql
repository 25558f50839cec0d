-- Parameters: {privilege}, {object}, {grantee} identifier or PUBLIC, {option}.
GRANT {privilege} ON {object} TO {grantee}{option}

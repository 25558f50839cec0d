-- Parameters: {column} identifier, {expression}.
{column} = {expression}

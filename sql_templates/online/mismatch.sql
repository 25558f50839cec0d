-- Parameters: {shadow} identifier, {expression}.
t.{shadow} IS DISTINCT FROM {expression}

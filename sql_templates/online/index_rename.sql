-- Parameters: {index} qualified identifier, {name} identifier.
ALTER INDEX {index} RENAME TO {name}

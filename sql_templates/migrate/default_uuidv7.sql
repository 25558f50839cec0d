-- Parameters: none.
uuidv7()

-- Parameters: {map} identifier.
ALTER TABLE {map} ADD PRIMARY KEY (old)

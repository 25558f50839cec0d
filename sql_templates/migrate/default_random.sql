-- Parameters: none.
gen_random_uuid()

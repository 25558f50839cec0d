-- A version 7 UUID for servers without uuidv7() (before PostgreSQL 18): 48 bits of
-- clock_timestamp() in milliseconds, version nibble 7, then gen_random_uuid()'s random bits
-- (its variant bits included).
-- Parameters: none.
(lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid

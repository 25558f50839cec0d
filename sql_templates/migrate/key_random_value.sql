-- A fresh random key of 32 bytes (two v4 UUIDs' hex digits), as text '\x<hex>'.
'\x' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')

--
-- uuidpk sample: deterministic rows for the shop of shop.sql (its pre-data section loaded, its
-- post-data section not yet: rows go in before keys, indexes and FKs, as in a restore).
--
-- Reads two settings, so psql can run it too:
--   SET uuidpk_sample.orders = '1000';   -- number of orders (>= 1)
--   SET uuidpk_sample.seed = '1';        -- any integer below 2^56; same seed, same rows
--
-- Set-based only: every row comes from generate_series, every "random" choice from
-- hashint8extended(n, seed), so the rows depend on (orders, seed) alone, never on the plan, the
-- server version or the session. Ids are explicit, as in a dump; counts grow linearly:
--   order_order             orders         (about 10% with original_id -> an earlier order)
--   order_orderline         ~3 x orders    (1 to 5 lines per order, distinct skus)
--   invoice_invoice         ~1 x orders    (10% none, 10% two, the rest one)
--   giftcard_giftcard       orders / 2     (at least 1)
--   order_order_gift_cards  ~0.5 x orders  (1/8 of orders use one card, 1/8 use three)
--   payment_payment         ~0.5 x orders  (one-to-one: at most one per order)
--

CREATE TEMPORARY TABLE shop_params AS
SELECT current_setting('uuidpk_sample.orders')::integer AS orders,
       greatest(1, current_setting('uuidpk_sample.orders')::integer / 2) AS giftcards,
       current_setting('uuidpk_sample.seed')::bigint AS seed;

-- shop_r(n, seed, salt): a pseudo-random integer in [0, 2^31), a pure function of its arguments.
-- An IMMUTABLE one-expression SQL function: the planner inlines it.
CREATE FUNCTION pg_temp.shop_r(n bigint, seed bigint, salt integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (hashint8extended(n, seed * 64 + salt) & 2147483647)::integer $$;

-- When order i was placed: one order every 47 s from 2021-01-01, with a little jitter.
-- STABLE, not IMMUTABLE, as timestamptz + interval is: the planner inlines only a function no
-- more volatile than its body. (Adding seconds does not depend on the time zone.)
CREATE FUNCTION pg_temp.shop_placed(i bigint, seed bigint) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT timestamptz '2021-01-01 00:00:00+00'
                 + make_interval(secs => i * 47 + pg_temp.shop_r(i, seed, 1) % 40) $$;

-- Lines: order i has 1 to 5 lines (3 on average). Its line k sells product
-- (r + 7919 k) mod 1000: distinct for k = 1..5, as 7919 and 1000 are coprime.
CREATE FUNCTION pg_temp.shop_lines(i bigint, seed bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 1 + pg_temp.shop_r(i, seed, 2) % 5 $$;
CREATE FUNCTION pg_temp.shop_product(i bigint, k integer, seed bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (pg_temp.shop_r(i, seed, 3) % 1000 + k * 7919) % 1000 $$;
CREATE FUNCTION pg_temp.shop_quantity(i bigint, k integer, seed bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 1 + pg_temp.shop_r(i * 8 + k, seed, 4) % 4 $$;
-- The price of a product, in cents: 4.99 to 194.98.
CREATE FUNCTION pg_temp.shop_cents(product integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 499 + (product * 3797) % 19000 $$;

-- row_number() OVER () numbers the rows of a nested loop over two function scans, which runs in
-- one process and emits (i, k) in order: the ids are the same on every run.
INSERT INTO public.order_orderline (id, order_id, sku, quantity, unit_price)
SELECT row_number() OVER (),
       l.i,
       'SKU-' || lpad(l.product::text, 4, '0'),
       pg_temp.shop_quantity(l.i, l.k, l.seed),
       pg_temp.shop_cents(l.product) / 100.0
FROM (
    SELECT o.i, k.k, p.seed, pg_temp.shop_product(o.i, k.k, p.seed) AS product
    FROM shop_params AS p
    CROSS JOIN generate_series(1, p.orders) AS o(i)
    CROSS JOIN LATERAL generate_series(1, pg_temp.shop_lines(o.i, p.seed)) AS k(k)
) AS l;

-- Orders: the total is the sum of the lines (recomputed here: cheaper than aggregating them).
-- About 10% replace or return an earlier order.
INSERT INTO public.order_order (id, number, created_at, status, total, original_id)
SELECT o.i,
       'O-' || lpad(o.i::text, greatest(6, length(o.i::text)), '0'),
       pg_temp.shop_placed(o.i, p.seed),
       CASE WHEN o.i > 1 AND pg_temp.shop_r(o.i, p.seed, 5) % 10 = 0 THEN 'returned'
            ELSE (ARRAY['unfulfilled', 'partially fulfilled', 'fulfilled', 'fulfilled',
                        'fulfilled', 'canceled'])[1 + pg_temp.shop_r(o.i, p.seed, 6) % 6]
       END,
       t.cents / 100.0,
       CASE WHEN o.i > 1 AND pg_temp.shop_r(o.i, p.seed, 5) % 10 = 0
            THEN 1 + pg_temp.shop_r(o.i, p.seed, 7) % (o.i - 1)
       END
FROM shop_params AS p
CROSS JOIN generate_series(1, p.orders) AS o(i)
CROSS JOIN LATERAL (
    SELECT sum(pg_temp.shop_quantity(o.i, k.k, p.seed)
               * pg_temp.shop_cents(pg_temp.shop_product(o.i, k.k, p.seed))) AS cents
    FROM generate_series(1, pg_temp.shop_lines(o.i, p.seed)) AS k(k)
) AS t;

-- Invoices: none for 10% of orders, two for 10%, one for the rest.
INSERT INTO public.invoice_invoice (id, number, order_id, created_at)
SELECT v.id,
       'INV-' || lpad(v.id::text, greatest(7, length(v.id::text)), '0'),
       v.i,
       pg_temp.shop_placed(v.i, v.seed) + make_interval(hours => 2 + 30 * (v.k - 1))
FROM (
    SELECT row_number() OVER () AS id, o.i, k.k, p.seed
    FROM shop_params AS p
    CROSS JOIN generate_series(1, p.orders) AS o(i)
    CROSS JOIN LATERAL generate_series(
        1, CASE pg_temp.shop_r(o.i, p.seed, 8) % 10 WHEN 0 THEN 0 WHEN 1 THEN 2 ELSE 1 END
    ) AS k(k)
) AS v;

-- Gift cards: orders / 2 of them, with a code a person could type.
INSERT INTO public.giftcard_giftcard (id, code, initial_balance)
SELECT g.g,
       lpad(upper(to_hex(pg_temp.shop_r(g.g, p.seed, 9) % 65536)), 4, '0') || '-'
           || lpad(g.g::text, greatest(7, length(g.g::text)), '0'),
       (10 * (1 + pg_temp.shop_r(g.g, p.seed, 10) % 20))::numeric(12,2)
FROM shop_params AS p
CROSS JOIN generate_series(1, p.giftcards) AS g(g);

-- Orders paid with gift cards (many-to-many): 1/8 of orders use one card, 1/8 use three
-- consecutive cards (distinct, as long as there are enough cards): 0.5 rows per order.
INSERT INTO public.order_order_gift_cards (id, order_id, giftcard_id)
SELECT row_number() OVER (),
       o.i,
       1 + (pg_temp.shop_r(o.i, p.seed, 12) % p.giftcards + k.k) % p.giftcards
FROM shop_params AS p
CROSS JOIN generate_series(1, p.orders) AS o(i)
CROSS JOIN LATERAL generate_series(
    0, least(p.giftcards,
             CASE pg_temp.shop_r(o.i, p.seed, 11) % 8 WHEN 6 THEN 1 WHEN 7 THEN 3 ELSE 0 END) - 1
) AS k(k);

-- Payments (one-to-one): every other order, on average, has exactly one, for its total.
INSERT INTO public.payment_payment (id, order_id, reference, amount)
SELECT row_number() OVER (ORDER BY o.id),
       o.id,
       'ch_' || substr(md5(p.seed::text || ':' || o.id::text), 1, 12) || to_hex(o.id),
       o.total
FROM shop_params AS p
CROSS JOIN public.order_order AS o
WHERE pg_temp.shop_r(o.id, p.seed, 13) % 2 = 0;

-- As pg_dump ends its data section: each sequence just past the largest id.
SELECT pg_catalog.setval('public.order_order_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL)
FROM public.order_order;
SELECT pg_catalog.setval('public.invoice_invoice_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL)
FROM public.invoice_invoice;
SELECT pg_catalog.setval('public.order_orderline_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL)
FROM public.order_orderline;
SELECT pg_catalog.setval('public.giftcard_giftcard_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL)
FROM public.giftcard_giftcard;
SELECT pg_catalog.setval('public.order_order_gift_cards_id_seq', coalesce(max(id), 1),
                         max(id) IS NOT NULL)
FROM public.order_order_gift_cards;
SELECT pg_catalog.setval('public.payment_payment_id_seq', coalesce(max(id), 1), max(id) IS NOT NULL)
FROM public.payment_payment;

DROP FUNCTION pg_temp.shop_cents(integer);
DROP FUNCTION pg_temp.shop_quantity(bigint, integer, bigint);
DROP FUNCTION pg_temp.shop_product(bigint, integer, bigint);
DROP FUNCTION pg_temp.shop_lines(bigint, bigint);
DROP FUNCTION pg_temp.shop_placed(bigint, bigint);
DROP FUNCTION pg_temp.shop_r(bigint, bigint, integer);
DROP TABLE shop_params;

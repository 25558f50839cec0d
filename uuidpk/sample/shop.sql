--
-- uuidpk sample: a small Saleor-like shop, as pg_dump writes a Django schema.
--
-- Every table has an integer key fed by a sequence (Django's AutoField). The key of
-- public.order_order is referenced exactly five times:
--
--   invoice_invoice.order_id         many-to-one   ON DELETE CASCADE
--   order_orderline.order_id         many-to-one   ON DELETE CASCADE, UNIQUE (order_id, sku)
--   order_order_gift_cards.order_id  many-to-many  (Django's auto join table to giftcard_giftcard)
--   payment_payment.order_id         one-to-one    (NOT NULL UNIQUE)
--   order_order.original_id          self          ON DELETE SET NULL
--
-- Constraint and index names are the ones Django generates (md5-based suffixes, truncated to
-- 63 bytes the way Django truncates them); every FK is DEFERRABLE INITIALLY DEFERRED.
--
-- Loadable by any superuser into an empty database: psql -v ON_ERROR_STOP=1 -f shop.sql.
-- Creates no role; SELECT is granted to the role shop_readonly only if that role exists.
--
-- Like a pg_dump, the file has two sections: the tables (pre-data) and, after the marker line
-- below, the keys, indexes, FKs and grants (post-data). uuidpk.sample.load_shop() loads the rows
-- between the two, as a restore of a dump does.
--

--
-- Pre-data: tables, sequences, defaults, comments
--

CREATE TABLE public.order_order (
    id integer NOT NULL,
    number text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    status text NOT NULL,
    total numeric(12,2) NOT NULL,
    original_id integer
);

CREATE SEQUENCE public.order_order_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.order_order_id_seq OWNED BY public.order_order.id;

ALTER TABLE ONLY public.order_order
    ALTER COLUMN id SET DEFAULT nextval('public.order_order_id_seq'::regclass);

COMMENT ON TABLE public.order_order IS 'Customer orders; number is the key customers and support quote.';
COMMENT ON COLUMN public.order_order.id IS 'Surrogate key (Django AutoField).';
COMMENT ON COLUMN public.order_order.original_id IS 'The order this one replaces or returns, if any.';


CREATE TABLE public.invoice_invoice (
    id integer NOT NULL,
    number text NOT NULL,
    order_id integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.invoice_invoice_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.invoice_invoice_id_seq OWNED BY public.invoice_invoice.id;

ALTER TABLE ONLY public.invoice_invoice
    ALTER COLUMN id SET DEFAULT nextval('public.invoice_invoice_id_seq'::regclass);

COMMENT ON COLUMN public.invoice_invoice.order_id IS 'The invoiced order.';


CREATE TABLE public.order_orderline (
    id integer NOT NULL,
    order_id integer NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(12,2) NOT NULL,
    CONSTRAINT order_orderline_quantity_check CHECK ((quantity >= 0))
);

CREATE SEQUENCE public.order_orderline_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.order_orderline_id_seq OWNED BY public.order_orderline.id;

ALTER TABLE ONLY public.order_orderline
    ALTER COLUMN id SET DEFAULT nextval('public.order_orderline_id_seq'::regclass);


CREATE TABLE public.giftcard_giftcard (
    id integer NOT NULL,
    code text NOT NULL,
    initial_balance numeric(12,2) NOT NULL
);

CREATE SEQUENCE public.giftcard_giftcard_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.giftcard_giftcard_id_seq OWNED BY public.giftcard_giftcard.id;

ALTER TABLE ONLY public.giftcard_giftcard
    ALTER COLUMN id SET DEFAULT nextval('public.giftcard_giftcard_id_seq'::regclass);


CREATE TABLE public.order_order_gift_cards (
    id integer NOT NULL,
    order_id integer NOT NULL,
    giftcard_id integer NOT NULL
);

CREATE SEQUENCE public.order_order_gift_cards_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.order_order_gift_cards_id_seq OWNED BY public.order_order_gift_cards.id;

ALTER TABLE ONLY public.order_order_gift_cards
    ALTER COLUMN id SET DEFAULT nextval('public.order_order_gift_cards_id_seq'::regclass);


CREATE TABLE public.payment_payment (
    id integer NOT NULL,
    order_id integer NOT NULL,
    reference text NOT NULL,
    amount numeric(12,2) NOT NULL
);

CREATE SEQUENCE public.payment_payment_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.payment_payment_id_seq OWNED BY public.payment_payment.id;

ALTER TABLE ONLY public.payment_payment
    ALTER COLUMN id SET DEFAULT nextval('public.payment_payment_id_seq'::regclass);


-- uuidpk:post-data

--
-- Post-data: primary keys, unique constraints, indexes, foreign keys, grants
--

ALTER TABLE ONLY public.order_order
    ADD CONSTRAINT order_order_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.order_order
    ADD CONSTRAINT order_order_number_key UNIQUE (number);

ALTER TABLE ONLY public.invoice_invoice
    ADD CONSTRAINT invoice_invoice_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.invoice_invoice
    ADD CONSTRAINT invoice_invoice_number_key UNIQUE (number);

ALTER TABLE ONLY public.order_orderline
    ADD CONSTRAINT order_orderline_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.order_orderline
    ADD CONSTRAINT order_orderline_order_id_sku_08ff4735_uniq UNIQUE (order_id, sku);

ALTER TABLE ONLY public.giftcard_giftcard
    ADD CONSTRAINT giftcard_giftcard_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.giftcard_giftcard
    ADD CONSTRAINT giftcard_giftcard_code_key UNIQUE (code);

ALTER TABLE ONLY public.order_order_gift_cards
    ADD CONSTRAINT order_order_gift_cards_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.order_order_gift_cards
    ADD CONSTRAINT order_order_gift_cards_order_id_giftcard_id_f58e7356_uniq UNIQUE (order_id, giftcard_id);

ALTER TABLE ONLY public.payment_payment
    ADD CONSTRAINT payment_payment_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.payment_payment
    ADD CONSTRAINT payment_payment_order_id_key UNIQUE (order_id);
ALTER TABLE ONLY public.payment_payment
    ADD CONSTRAINT payment_payment_reference_key UNIQUE (reference);


CREATE INDEX order_order_number_49f06f1b_like ON public.order_order USING btree (number text_pattern_ops);
CREATE INDEX order_order_original_id_1dd680dd ON public.order_order USING btree (original_id);
CREATE INDEX invoice_invoice_number_c8f63b12_like ON public.invoice_invoice USING btree (number text_pattern_ops);
CREATE INDEX invoice_invoice_order_id_c5fc9ae9 ON public.invoice_invoice USING btree (order_id);
CREATE INDEX order_orderline_order_id_eb04ec2d ON public.order_orderline USING btree (order_id);
CREATE INDEX giftcard_giftcard_code_f6fb6be8_like ON public.giftcard_giftcard USING btree (code text_pattern_ops);
CREATE INDEX order_order_gift_cards_order_id_ce5608c4 ON public.order_order_gift_cards USING btree (order_id);
CREATE INDEX order_order_gift_cards_giftcard_id_f6844926 ON public.order_order_gift_cards USING btree (giftcard_id);
CREATE INDEX payment_payment_reference_1254aacb_like ON public.payment_payment USING btree (reference text_pattern_ops);


ALTER TABLE ONLY public.order_order
    ADD CONSTRAINT order_order_original_id_1dd680dd_fk_order_order_id FOREIGN KEY (original_id) REFERENCES public.order_order(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.invoice_invoice
    ADD CONSTRAINT invoice_invoice_order_id_c5fc9ae9_fk_order_order_id FOREIGN KEY (order_id) REFERENCES public.order_order(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.order_orderline
    ADD CONSTRAINT order_orderline_order_id_eb04ec2d_fk_order_order_id FOREIGN KEY (order_id) REFERENCES public.order_order(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.order_order_gift_cards
    ADD CONSTRAINT order_order_gift_cards_order_id_ce5608c4_fk_order_order_id FOREIGN KEY (order_id) REFERENCES public.order_order(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.order_order_gift_cards
    ADD CONSTRAINT order_order_gift_car_giftcard_id_f6844926_fk_giftcard_ FOREIGN KEY (giftcard_id) REFERENCES public.giftcard_giftcard(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.payment_payment
    ADD CONSTRAINT payment_payment_order_id_22b45881_fk_order_order_id FOREIGN KEY (order_id) REFERENCES public.order_order(id) DEFERRABLE INITIALLY DEFERRED;


DO $grants$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'shop_readonly') THEN
        GRANT SELECT ON TABLE public.order_order, public.invoice_invoice, public.order_orderline,
            public.giftcard_giftcard, public.order_order_gift_cards, public.payment_payment
            TO shop_readonly;
    END IF;
END
$grants$;

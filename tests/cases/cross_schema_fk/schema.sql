-- Keys referenced across schemas, two levels deep, with mixed-case names.
-- expect-uuid: crm.customer.id, billing.invoice.customer_id, billing.invoice.id,
-- expect-uuid: billing.line.invoice_id, billing.line.id, "Audit".entry.customer_id, "Audit".entry.id
-- check: SELECT c.email, i.number FROM billing.invoice i JOIN crm.customer c ON c.id = i.customer_id
-- check: SELECT i.number, l.text FROM billing.line l JOIN billing.invoice i ON i.id = l.invoice_id
-- check: SELECT c.email, e.what FROM "Audit".entry e LEFT JOIN crm.customer c ON c.id = e.customer_id

CREATE SCHEMA crm;
CREATE SCHEMA billing;
CREATE SCHEMA "Audit";
CREATE TABLE crm.customer (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE billing.invoice (
    id serial PRIMARY KEY,
    number text NOT NULL UNIQUE,
    customer_id integer NOT NULL REFERENCES crm.customer ON UPDATE CASCADE ON DELETE RESTRICT
);
CREATE TABLE billing.line (
    id serial PRIMARY KEY,
    invoice_id integer NOT NULL REFERENCES billing.invoice ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    text text NOT NULL
);
CREATE TABLE "Audit".entry (
    id serial PRIMARY KEY,
    customer_id integer REFERENCES crm.customer MATCH FULL ON DELETE SET NULL,
    what text NOT NULL
);
COMMENT ON CONSTRAINT invoice_customer_id_fkey ON billing.invoice IS 'who pays';

INSERT INTO crm.customer (email) SELECT 'c' || i || '@example.org' FROM generate_series(1, 20) i;
INSERT INTO billing.invoice (number, customer_id) SELECT 'INV-' || i, 1 + (i * 3) % 20 FROM generate_series(1, 50) i;
INSERT INTO billing.line (invoice_id, text) SELECT 1 + i % 50, 'line ' || i FROM generate_series(1, 140) i;
INSERT INTO "Audit".entry (customer_id, what)
SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE 1 + i % 20 END, 'did ' || i FROM generate_series(1, 35) i;

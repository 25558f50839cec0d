-- A partitioned table with a foreign key declared on the parent (PostgreSQL clones it onto each
-- partition): the column converts through the parent; the partitions follow. Its primary key must
-- include the partition key (at); its other column (id) is the key --all converts.
-- expect-uuid: public.shipment.id, public.tracking_event.shipment_id, public.tracking_event.id
-- check: SELECT s.ref, e.at, e.what FROM tracking_event e LEFT JOIN shipment s ON s.id = e.shipment_id
-- check: SELECT tableoid::regclass::text, count(*) FROM tracking_event GROUP BY 1

CREATE TABLE shipment (id serial PRIMARY KEY, ref text NOT NULL UNIQUE);
CREATE TABLE tracking_event (
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL,
    shipment_id integer REFERENCES shipment ON DELETE CASCADE,
    what text NOT NULL,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE tracking_event_2023 PARTITION OF tracking_event
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE tracking_event_2024 PARTITION OF tracking_event
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE tracking_event_other PARTITION OF tracking_event DEFAULT;
CREATE INDEX tracking_event_shipment_idx ON tracking_event (shipment_id);

INSERT INTO shipment (ref) SELECT 'SHIP-' || i FROM generate_series(1, 25) i;
INSERT INTO tracking_event (at, shipment_id, what)
SELECT timestamptz '2023-06-01' + i * interval '5 days',
       CASE WHEN i % 9 = 0 THEN NULL ELSE 1 + i % 25 END,
       'event ' || i
  FROM generate_series(1, 150) i;

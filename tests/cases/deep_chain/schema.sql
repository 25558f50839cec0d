-- A chain of keys (region <- store <- shelf <- item) where every table is also a parent, plus a
-- view-free, trigger-free table with no key at all that references the chain's end.
-- expect-uuid: public.region.id, public.store.id, public.store.region_id, public.shelf.id,
-- expect-uuid: public.shelf.store_id, public.item.id, public.item.shelf_id, public.scan.item_id
-- check: SELECT r.name, s.name, h.label, i.sku FROM item i JOIN shelf h ON h.id = i.shelf_id JOIN store s ON s.id = h.store_id JOIN region r ON r.id = s.region_id
-- check: SELECT i.sku, count(*) FROM scan x JOIN item i ON i.id = x.item_id GROUP BY 1

CREATE TABLE region (id smallserial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE store (id serial PRIMARY KEY, region_id smallint NOT NULL REFERENCES region, name text NOT NULL UNIQUE);
CREATE TABLE shelf (id serial PRIMARY KEY, store_id integer NOT NULL REFERENCES store, label text NOT NULL,
                    UNIQUE (store_id, label));
CREATE TABLE item (id bigserial PRIMARY KEY, shelf_id integer REFERENCES shelf ON DELETE SET NULL, sku text NOT NULL UNIQUE);
CREATE TABLE scan (item_id bigint NOT NULL REFERENCES item ON DELETE CASCADE, at timestamptz NOT NULL);

INSERT INTO region (name) VALUES ('north'), ('south'), ('east');
INSERT INTO store (region_id, name) SELECT 1 + i % 3, 'store ' || i FROM generate_series(1, 9) i;
INSERT INTO shelf (store_id, label) SELECT 1 + i % 9, 'shelf ' || i FROM generate_series(1, 30) i;
INSERT INTO item (shelf_id, sku) SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + i % 30 END, 'sku ' || i FROM generate_series(1, 100) i;
INSERT INTO scan SELECT 1 + (i * 13) % 100, timestamptz '2024-01-01' + i * interval '1 hour' FROM generate_series(1, 300) i;

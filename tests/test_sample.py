"""The sample shop (uuidpk.sample) against a real PostgreSQL: shape, data, natural snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from hashlib import md5

import pgutil
import psycopg
import pytest

from uuidpk.sample import (
    GRANTEE,
    SHOP_DATA_SQL,
    SHOP_SQL,
    TABLES,
    drop_shop,
    load_shop,
    natural_snapshot,
    shop_sections,
)

# (child table, column) -> (referenced table, ON DELETE action as in pg_constraint.confdeltype)
EXPECTED_FKS = {
    ("invoice_invoice", "order_id"): ("order_order", "c"),
    ("order_orderline", "order_id"): ("order_order", "c"),
    ("order_order_gift_cards", "order_id"): ("order_order", "c"),
    ("order_order_gift_cards", "giftcard_id"): ("giftcard_giftcard", "a"),
    ("payment_payment", "order_id"): ("order_order", "a"),
    ("order_order", "original_id"): ("order_order", "n"),
}


def counts(conn: psycopg.Connection) -> dict[str, int]:
    result: dict[str, int] = {}
    for table in TABLES:
        row = conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()
        assert row is not None
        result[table] = row[0]
    return result


@pytest.fixture
def other_conn(pg: pgutil.PgCluster) -> Iterator[psycopg.Connection]:
    """A second fresh database, for comparing two loads side by side."""
    name, dsn = pg.create_database(pgutil.unique_name("sample_other"))
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            yield connection
    finally:
        pg.drop_database(name)


# -- data ------------------------------------------------------------------------------------


def test_counts_have_the_intended_ratios(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=2000, seed=3)
    n = counts(conn)
    assert n["order_order"] == 2000
    assert n["giftcard_giftcard"] == 1000
    assert 2.8 <= n["order_orderline"] / 2000 <= 3.2
    assert 0.9 <= n["invoice_invoice"] / 2000 <= 1.1
    assert 0.4 <= n["order_order_gift_cards"] / 2000 <= 0.6
    assert 0.4 <= n["payment_payment"] / 2000 <= 0.6
    row = conn.execute(
        "SELECT count(original_id), count(*) FILTER (WHERE original_id >= id)"
        " FROM public.order_order"
    ).fetchone()
    assert row is not None
    replacing, pointing_forward = row
    assert 0.07 <= replacing / 2000 <= 0.13
    assert pointing_forward == 0  # an order replaces an earlier one
    # at most one payment per order, 1 to 5 lines per order, every order has lines
    row = conn.execute(
        """SELECT min(c), max(c), count(*) FROM (
               SELECT count(*) AS c FROM public.order_orderline GROUP BY order_id) AS per_order"""
    ).fetchone()
    assert row == (1, 5, 2000)


def test_amounts_add_up(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=500, seed=9)
    row = conn.execute(
        """SELECT count(*) FILTER (WHERE o.total IS DISTINCT FROM l.total),
                  count(*) FILTER (WHERE p.order_id IS NOT NULL AND p.amount <> o.total)
           FROM public.order_order AS o
           LEFT JOIN (SELECT order_id, sum(quantity * unit_price) AS total
                      FROM public.order_orderline GROUP BY order_id) AS l ON l.order_id = o.id
           LEFT JOIN public.payment_payment AS p ON p.order_id = o.id"""
    ).fetchone()
    assert row == (0, 0)  # an order's total is the sum of its lines; a payment pays it


# Rows per order: (mean, standard deviation) of the per-order count the data script draws.
PER_ORDER = {
    "order_order": (1.0, 0.0),
    "giftcard_giftcard": (0.5, 0.0),
    "order_orderline": (3.0, 2**0.5),  # uniform on 1..5
    "invoice_invoice": (1.0, 0.2**0.5),  # 0, 1 or 2 with 10%, 80%, 10%
    "order_order_gift_cards": (0.5, 1.0),  # 0, 1 or 3 with 75%, 12.5%, 12.5%
    "payment_payment": (0.5, 0.5),  # 0 or 1
}


@pytest.mark.parametrize("orders", [1000, 10000])
def test_counts_scale_linearly_with_orders(conn: psycopg.Connection, orders: int) -> None:
    load_shop(conn, orders=orders, seed=1)
    n = counts(conn)
    for table, (mean, sd) in PER_ORDER.items():
        # within four standard errors of the mean: rows grow as orders do, at a fixed rate
        tolerance = 4 * sd / orders**0.5 + 1 / orders
        assert abs(n[table] / orders - mean) <= tolerance, (table, n[table], orders)


def test_sequences_continue_past_the_loaded_ids(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=50)
    for table in TABLES:
        row = conn.execute(
            f"SELECT (SELECT max(id) FROM public.{table}), last_value, is_called"
            f" FROM public.{table}_id_seq"
        ).fetchone()
        assert row is not None
        max_id, last_value, is_called = row
        assert (last_value, is_called) == (max_id, True), table
    # a new row takes the next id from the default, as the application would insert it
    row = conn.execute(
        "INSERT INTO public.giftcard_giftcard (code, initial_balance)"
        " VALUES ('NEW', 5) RETURNING id"
    ).fetchone()
    assert row == (26,)


def test_tiny_shop_loads(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=1)
    n = counts(conn)
    assert n["order_order"] == 1
    assert n["giftcard_giftcard"] == 1
    assert natural_snapshot(conn)["originals"] == [("O-000001", None)]


def test_rejects_no_orders(conn: psycopg.Connection) -> None:
    with pytest.raises(ValueError):
        load_shop(conn, orders=0)


def test_load_is_all_or_nothing(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE public.payment_payment (id integer)")  # in the way
    with pytest.raises(psycopg.errors.DuplicateTable):
        load_shop(conn, orders=10)
    row = conn.execute("SELECT to_regclass('public.order_order')").fetchone()
    assert row == (None,)


def test_tables_are_analyzed(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=300)
    rows = conn.execute(
        "SELECT relname, reltuples FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        " AND relkind = 'r'"
    ).fetchall()
    reltuples: dict[str, float] = {name: tuples for name, tuples in rows}
    assert reltuples["order_order"] == 300
    assert set(reltuples) == set(TABLES)
    assert all(tuples > 0 for tuples in reltuples.values())


# -- schema ----------------------------------------------------------------------------------


def foreign_keys(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[str, str, bool, bool]]:
    rows = conn.execute(
        """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,
                  c.confdeltype::text, c.condeferrable, c.condeferred, c.conname,
                  array_length(c.conkey, 1), fa.attname
           FROM pg_constraint AS c
           JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           JOIN pg_attribute AS fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
           WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"""
    ).fetchall()
    result = {}
    for child, column, parent, on_delete, deferrable, deferred, name, width, target in rows:
        assert width == 1 and target == "id", name
        result[(child, column)] = (parent, on_delete, deferrable, deferred)
    return result


def test_the_order_key_has_exactly_five_relations(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=20)
    fks = foreign_keys(conn)
    assert {key: (parent, action) for key, (parent, action, _, _) in fks.items()} == EXPECTED_FKS
    assert all(deferrable and deferred for (_, _, deferrable, deferred) in fks.values())
    on_order = [key for key, (parent, *_rest) in fks.items() if parent == "order_order"]
    assert len(on_order) == 5


def unique_column_sets(conn: psycopg.Connection, table: str) -> set[tuple[str, ...]]:
    rows = conn.execute(
        """SELECT array_agg(a.attname ORDER BY k.ord)
           FROM pg_constraint AS c
           CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
           WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u')
           GROUP BY c.oid""",
        [f"public.{table}"],
    ).fetchall()
    return {tuple(cols) for (cols,) in rows}


def not_null(conn: psycopg.Connection, table: str, column: str) -> bool:
    row = conn.execute(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
        [f"public.{table}", column],
    ).fetchone()
    assert row is not None
    return bool(row[0])


def test_relation_kinds_have_their_structure(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=20)
    # one-to-one: the FK column is NOT NULL and unique on its own
    assert ("order_id",) in unique_column_sets(conn, "payment_payment")
    assert not_null(conn, "payment_payment", "order_id")
    # many-to-one: not unique on its own (an order has many lines, several invoices)
    assert ("order_id",) not in unique_column_sets(conn, "invoice_invoice")
    assert ("order_id",) not in unique_column_sets(conn, "order_orderline")
    assert ("order_id", "sku") in unique_column_sets(conn, "order_orderline")
    # many-to-many: Django's join table, its own id plus the unique pair of two FKs
    rows = conn.execute(
        "SELECT attname FROM pg_attribute"
        " WHERE attrelid = 'public.order_order_gift_cards'::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    ).fetchall()
    assert [r[0] for r in rows] == ["id", "order_id", "giftcard_id"]
    assert unique_column_sets(conn, "order_order_gift_cards") == {
        ("id",),
        ("order_id", "giftcard_id"),
    }
    # self reference: nullable, and SET NULL when the original goes
    assert not not_null(conn, "order_order", "original_id")
    row = conn.execute(
        "SELECT id, original_id FROM public.order_order WHERE original_id IS NOT NULL LIMIT 1"
    ).fetchone()
    assert row is not None
    order_id, original_id = row
    conn.execute("DELETE FROM public.payment_payment WHERE order_id = %s", [original_id])
    conn.execute("DELETE FROM public.order_order_gift_cards WHERE order_id = %s", [original_id])
    conn.execute("DELETE FROM public.order_order WHERE id = %s", [original_id])
    row = conn.execute(
        "SELECT original_id FROM public.order_order WHERE id = %s", [order_id]
    ).fetchone()
    assert row == (None,)


def django_index_name(table: str, columns: list[str], suffix: str = "") -> str:
    """Django's BaseDatabaseSchemaEditor._create_index_name, for PostgreSQL (63 bytes)."""
    digest = md5(usedforsecurity=False)
    for part in (table, *columns):
        digest.update(part.encode())
    hash_suffix = digest.hexdigest()[:8] + suffix
    name = f"{table}_{'_'.join(columns)}_{hash_suffix}"
    if len(name) <= 63:
        return name
    if len(hash_suffix) > 63 / 3:
        hash_suffix = hash_suffix[: 63 // 3]
    other = (63 - len(hash_suffix)) // 2 - 1
    return f"{table[:other]}_{'_'.join(columns)[:other]}_{hash_suffix}"


def test_names_are_the_ones_django_generates(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=5)
    constraints = {
        name
        for (name,) in conn.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
    }
    for (child, column), (parent, _action) in EXPECTED_FKS.items():
        assert django_index_name(child, [column], f"_fk_{parent}_id") in constraints
    assert django_index_name("order_orderline", ["order_id", "sku"], "_uniq") in constraints
    assert (
        django_index_name("order_order_gift_cards", ["order_id", "giftcard_id"], "_uniq")
        in constraints
    )
    assert "payment_payment_order_id_key" in constraints
    assert "order_order_gift_car_giftcard_id_f6844926_fk_giftcard_" in constraints  # truncated
    indexes = {
        name
        for (name,) in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    }
    # Django indexes every ForeignKey column; a OneToOneField has its unique constraint instead
    for child, column in EXPECTED_FKS:
        if (child, column) != ("payment_payment", "order_id"):
            assert django_index_name(child, [column]) in indexes, (child, column)
    assert django_index_name("order_order", ["number"], "_like") in indexes


def test_sequences_comments_and_defaults_look_like_a_django_dump(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=5)
    for table in TABLES:
        row = conn.execute(
            "SELECT pg_get_serial_sequence(%s, 'id'), pg_get_expr(d.adbin, d.adrelid)"
            " FROM pg_attrdef AS d JOIN pg_attribute AS a"
            " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
            " WHERE d.adrelid = %s::regclass AND a.attname = 'id'",
            [f"public.{table}", f"public.{table}"],
        ).fetchone()
        assert row == (f"public.{table}_id_seq", f"nextval('{table}_id_seq'::regclass)")
    row = conn.execute(
        "SELECT obj_description('public.order_order'::regclass, 'pg_class'),"
        " col_description('public.order_order'::regclass, 1),"
        " col_description('public.invoice_invoice'::regclass, 3)"
    ).fetchone()
    assert row is not None
    assert all(row), row


def test_select_is_granted_when_the_role_exists(
    pg: pgutil.PgCluster, conn: psycopg.Connection
) -> None:
    pg.ensure_role(GRANTEE)
    load_shop(conn, orders=5)
    for table in TABLES:
        row = conn.execute(
            "SELECT has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, %s, 'INSERT')",
            [GRANTEE, f"public.{table}", GRANTEE, f"public.{table}"],
        ).fetchone()
        assert row == (True, False), table


def test_shop_sql_alone_loads_with_psql(dsn: str) -> None:
    pgutil.run_psql(dsn, SHOP_SQL)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert set(counts(conn).values()) == {0}
        assert len(foreign_keys(conn)) == 6


def test_psql_gives_the_same_rows_as_load_shop(dsn: str, other_conn: psycopg.Connection) -> None:
    pre, post = shop_sections()
    settings = "SET uuidpk_sample.orders = '300';\nSET uuidpk_sample.seed = '7';\n"
    pgutil.run_psql(dsn, pre + settings + SHOP_DATA_SQL + post)
    load_shop(other_conn, orders=300, seed=7)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert natural_snapshot(conn) == natural_snapshot(other_conn)


# -- natural snapshot ------------------------------------------------------------------------


def test_snapshot_sees_every_relation(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=300, seed=2)
    snap = natural_snapshot(conn)
    n = counts(conn)
    assert len(snap["invoices"]) == n["invoice_invoice"]
    assert len(snap["lines"]) == n["order_orderline"]
    assert len(snap["gift_cards"]) == n["order_order_gift_cards"]
    assert len(snap["payments"]) == n["payment_payment"]
    assert len(snap["originals"]) == n["order_order"]
    for rows in snap.values():
        assert rows == sorted(rows, key=lambda r: tuple((v is None, v or "") for v in r))
    assert all(
        None not in row for name, rows in snap.items() if name != "originals" for row in rows
    )
    assert any(original is not None for _, original in snap["originals"])
    assert not any(str(value).isdigit() for rows in snap.values() for row in rows for value in row)


def test_snapshot_is_stable_across_a_reload(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=300, seed=5)
    before = natural_snapshot(conn)
    drop_shop(conn)
    load_shop(conn, orders=300, seed=5)
    assert natural_snapshot(conn) == before
    drop_shop(conn)
    load_shop(conn, orders=300, seed=6)
    assert natural_snapshot(conn) != before


def test_snapshot_detects_one_repointed_invoice(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=300, seed=5)
    before = natural_snapshot(conn)
    conn.execute(
        """UPDATE public.invoice_invoice
           SET order_id = (SELECT id FROM public.order_order WHERE number = 'O-000002')
           WHERE number = (SELECT min(i.number) FROM public.invoice_invoice AS i
                           JOIN public.order_order AS o ON o.id = i.order_id
                           WHERE o.number <> 'O-000002')"""
    )
    after = natural_snapshot(conn)
    assert after != before
    assert after["invoices"] != before["invoices"]
    assert len(after["invoices"]) == len(before["invoices"])
    assert {k: v for k, v in after.items() if k != "invoices"} == {
        k: v for k, v in before.items() if k != "invoices"
    }


# By hand, the crudest conversion of the order key to uuid (drop the five FKs, change every
# column of the closure with one derivation, put the FKs back): the snapshot must not notice.
TO_UUID = """
BEGIN;
ALTER TABLE public.order_order
    DROP CONSTRAINT order_order_original_id_1dd680dd_fk_order_order_id;
ALTER TABLE public.invoice_invoice
    DROP CONSTRAINT invoice_invoice_order_id_c5fc9ae9_fk_order_order_id;
ALTER TABLE public.order_orderline
    DROP CONSTRAINT order_orderline_order_id_eb04ec2d_fk_order_order_id;
ALTER TABLE public.order_order_gift_cards
    DROP CONSTRAINT order_order_gift_cards_order_id_ce5608c4_fk_order_order_id;
ALTER TABLE public.payment_payment
    DROP CONSTRAINT payment_payment_order_id_22b45881_fk_order_order_id;
ALTER TABLE public.order_order ALTER COLUMN id DROP DEFAULT,
    ALTER COLUMN id TYPE uuid USING md5('k:' || id)::uuid,
    ALTER COLUMN original_id TYPE uuid USING md5('k:' || original_id)::uuid;
ALTER TABLE public.invoice_invoice
    ALTER COLUMN order_id TYPE uuid USING md5('k:' || order_id)::uuid;
ALTER TABLE public.order_orderline
    ALTER COLUMN order_id TYPE uuid USING md5('k:' || order_id)::uuid;
ALTER TABLE public.order_order_gift_cards
    ALTER COLUMN order_id TYPE uuid USING md5('k:' || order_id)::uuid;
ALTER TABLE public.payment_payment
    ALTER COLUMN order_id TYPE uuid USING md5('k:' || order_id)::uuid;
ALTER TABLE public.order_order
    ADD FOREIGN KEY (original_id) REFERENCES public.order_order (id);
ALTER TABLE public.invoice_invoice
    ADD FOREIGN KEY (order_id) REFERENCES public.order_order (id);
ALTER TABLE public.order_orderline
    ADD FOREIGN KEY (order_id) REFERENCES public.order_order (id);
ALTER TABLE public.order_order_gift_cards
    ADD FOREIGN KEY (order_id) REFERENCES public.order_order (id);
ALTER TABLE public.payment_payment
    ADD FOREIGN KEY (order_id) REFERENCES public.order_order (id);
COMMIT;
"""


def test_snapshot_survives_a_key_type_change(conn: psycopg.Connection) -> None:
    load_shop(conn, orders=300, seed=4)
    before = natural_snapshot(conn)
    conn.execute(TO_UUID)
    row = conn.execute(
        "SELECT atttypid::regtype::text FROM pg_attribute"
        " WHERE attrelid = 'public.order_order'::regclass AND attname = 'id'"
    ).fetchone()
    assert row == ("uuid",)
    assert natural_snapshot(conn) == before
    # ...and a conversion that rewired a relation would not go unnoticed
    conn.execute(
        "UPDATE public.order_order SET original_id = NULL WHERE number ="
        " (SELECT min(number) FROM public.order_order WHERE original_id IS NOT NULL)"
    )
    assert natural_snapshot(conn)["originals"] != before["originals"]

"""Issue 3: the offline conversion. One transaction; every relation, name, action and option
survives; new rows get UUIDs; an interrupted run leaves the database exactly as it was."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pgutil
import psycopg
import pytest
import sqlglot
from checks import (
    HOSTILE_SQL,
    REPO,
    SHOP_KEY_COLUMNS,
    assert_clean_failure,
    assert_ok,
    assert_same_relations,
    changed_to_uuid,
    clean_env,
    clone,
    column_types,
    connect,
    data_hashes,
    facts_without,
    integer_key_closures,
    read_rows,
    schema_facts,
    shop_copy,
    shop_template,
    split_script,
    sql_shape,
    state,
    uuidpk,
    uuidpk_command,
)
from psycopg import sql
from sqlglot import exp

from uuidpk import derive_uuid
from uuidpk.catalog import read_catalog
from uuidpk.graph import Graph
from uuidpk.ops import Options
from uuidpk.planning import plan_conversion
from uuidpk.sample import natural_snapshot


def sequences(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT schemaname || '.' || sequencename FROM pg_sequences "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'uuidpk')"
    ).fetchall()
    return {r[0] for r in rows}


def second_plan_is_empty(dsn: str) -> bool:
    """After a conversion, planning --all again finds nothing to convert."""
    with connect(dsn) as conn:
        graph = Graph(read_catalog(conn))
    return plan_conversion(graph, graph.all_keys(), Options()).is_empty


# -- the shop at 20,000 orders: apply, and generate | psql ------------------------------------


@pytest.fixture(scope="module")
def shop_20k(pg: pgutil.PgCluster) -> str:
    return shop_template(pg, 20_000)


def test_shop_converts_with_apply_and_with_psql_alike(
    pg: pgutil.PgCluster, shop_20k: str, request: pytest.FixtureRequest
) -> None:
    applied, piped = (shop_copy(pg, request, 20_000) for _ in range(2))
    with connect(applied) as conn:
        snapshot = natural_snapshot(conn)
        facts = schema_facts(conn)
        types = column_types(conn)
        sequences_before = sequences(conn)

    outcome = assert_ok(uuidpk("apply", "--dsn", applied, "--table", "order_order", "--yes"))
    assert "converted" in outcome.err

    script = assert_ok(uuidpk("generate", "--dsn", piped, "--table", "order_order")).out
    psql = subprocess.run(
        [pgutil.psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", piped],
        input=script,
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(),
        timeout=300,
    )
    assert psql.returncode == 0 and "ERROR" not in psql.stderr, psql.stderr

    results = {}
    for mode, dsn in (("apply", applied), ("psql", piped)):
        with connect(dsn) as conn:
            after_types = column_types(conn)
            assert changed_to_uuid(types, after_types) == SHOP_KEY_COLUMNS, mode
            assert {c: t for c, t in after_types.items() if c not in SHOP_KEY_COLUMNS} == {
                c: t for c, t in types.items() if c not in SHOP_KEY_COLUMNS
            }
            assert natural_snapshot(conn) == snapshot, mode
            after = schema_facts(conn)
            assert facts_without(after, SHOP_KEY_COLUMNS) == facts_without(facts, SHOP_KEY_COLUMNS)
            assert sequences(conn) == sequences_before - {"public.order_order_id_seq"}
            results[mode] = after
    assert results["apply"] == results["psql"]  # apply runs exactly what generate prints


def test_after_conversion_new_rows_get_uuids_and_cascades_work(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 200)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--yes"))
    with connect(dsn) as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO order_order (number, created_at, status, total) "
            "VALUES ('NEW-1', now(), 'new', 9.99) RETURNING id"
        ).fetchone()
        assert row is not None and isinstance(row[0], uuid.UUID)
        order_id = row[0]
        conn.execute(
            "INSERT INTO order_orderline (order_id, sku, quantity, unit_price) "
            "VALUES (%s, 'SKU-NEW', 1, 9.99)",
            [order_id],
        )
        conn.execute(
            "INSERT INTO invoice_invoice (number, order_id, created_at) "
            "VALUES ('INV-NEW', %s, now())",
            [order_id],
        )
        second = conn.execute(
            "INSERT INTO order_order (number, created_at, status, total, original_id) "
            "VALUES ('NEW-2', now(), 'new', 1, %s) RETURNING id",
            [order_id],
        ).fetchone()
        assert second is not None and second[0] != order_id
    with connect(dsn) as conn:
        counts = (
            "SELECT (SELECT count(*) FROM order_orderline WHERE order_id = %(o)s), "
            "(SELECT count(*) FROM invoice_invoice WHERE order_id = %(o)s)"
        )
        assert conn.execute(counts, {"o": order_id}).fetchone() == (1, 1)
        conn.execute("DELETE FROM order_order WHERE id = %s", [order_id])
        assert conn.execute(counts, {"o": order_id}).fetchone() == (0, 0)
        # ON DELETE SET NULL on the self reference came back too.
        assert conn.execute(
            "SELECT original_id FROM order_order WHERE number = 'NEW-2'"
        ).fetchone() == (None,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO invoice_invoice (number, order_id, created_at) "
                "VALUES ('INV-BAD', gen_random_uuid(), now())"
            )


# -- --all -------------------------------------------------------------------------------------


def test_all_converts_every_key_of_the_shop(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 500)
    with connect(dsn) as conn:
        expected = integer_key_closures(conn)
        types = column_types(conn)
        rows = read_rows(conn)
        snapshot = natural_snapshot(conn)
        facts = schema_facts(conn)
    assert len(expected) == 12  # six keys, six referencing columns
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    with connect(dsn) as conn:
        changed = changed_to_uuid(types, column_types(conn))
        assert changed == expected
        assert natural_snapshot(conn) == snapshot
        assert_same_relations(rows, read_rows(conn), changed)
        assert facts_without(schema_facts(conn), changed) == facts_without(facts, changed)
        assert sequences(conn) == set()
        before = state(conn)
    assert second_plan_is_empty(dsn)
    # Whatever `generate --all` prints now must be harmless.
    again = assert_ok(uuidpk("generate", "--dsn", dsn, "--all"))
    pgutil.run_psql(dsn, again.out)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    with connect(dsn) as conn:
        assert state(conn) == before


def test_an_empty_plan_says_nothing_to_convert(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 20)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes"))
    for command in (["generate"], ["apply", "--yes"]):
        outcome = assert_ok(uuidpk(*command, "--dsn", dsn, "--all"))
        assert "nothing to convert" in outcome.err.lower()
        assert "BEGIN" not in outcome.out


# -- kept key, old ids, mapping tables ---------------------------------------------------------


def test_a_kept_key_maps_old_ids_outside_the_database(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dsn = shop_copy(pg, request, 200)
    key_file = tmp_path / "key.hex"
    key_file.write_text(assert_ok(uuidpk("keygen")).out)
    key = bytes.fromhex(key_file.read_text().strip())
    with connect(dsn) as conn:
        number = conn.execute("SELECT number FROM order_order WHERE id = 42").fetchone()
        invoices = conn.execute("SELECT number FROM invoice_invoice WHERE order_id = 42").fetchall()
        card = conn.execute("SELECT code FROM giftcard_giftcard WHERE id = 7").fetchone()
    assert number is not None and invoices and card is not None
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--yes", "--key-file", str(key_file)))
    mapped = assert_ok(
        uuidpk("map", "--key-file", str(key_file), "--table", "public.order_order", "42")
    ).out
    old, new = mapped.strip().split("\t")
    assert old == "42"
    assert uuid.UUID(new) == derive_uuid(key, "public.order_order", 42)
    with connect(dsn) as conn:
        row = conn.execute("SELECT id FROM order_order WHERE number = %s", number).fetchone()
        assert row == (uuid.UUID(new),)
        assert {
            r[0]
            for r in conn.execute(
                "SELECT order_id FROM invoice_invoice WHERE number = ANY(%s)",
                [[i[0] for i in invoices]],
            ).fetchall()
        } == {uuid.UUID(new)}
        card_row = conn.execute("SELECT id FROM giftcard_giftcard WHERE code = %s", card).fetchone()
        assert card_row == (derive_uuid(key, "public.giftcard_giftcard", 7),)


@pytest.mark.parametrize(
    ("args", "column"),
    [
        (["--keep-old-id"], "old_id"),
        (["--keep-old-id=legacy_id"], "legacy_id"),
        (["--keep-old-id", "legacy_id"], "legacy_id"),
    ],
)
def test_keep_old_id_keeps_the_old_values(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, args: list[str], column: str
) -> None:
    dsn = shop_copy(pg, request, 200)
    with connect(dsn) as conn:
        before = set(conn.execute("SELECT number, id FROM order_order").fetchall())
        facts = schema_facts(conn)
    assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "order_order", *args, "--yes"))
    with connect(dsn) as conn:
        query = f"SELECT number, {column} FROM order_order"  # column: a fixed test name
        assert set(conn.execute(query).fetchall()) == before
        kept = column_types(conn)[("public", "order_order", column)]
        assert kept == "integer"
        added = {("public", "order_order", column)}
        assert facts_without(
            schema_facts(conn), SHOP_KEY_COLUMNS, extra_columns=added
        ) == facts_without(facts, SHOP_KEY_COLUMNS)


def test_mapping_table_pairs_each_old_value_with_its_new_one(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 200)
    with connect(dsn) as conn:
        before = set(conn.execute("SELECT number, id FROM order_order").fetchall())
    assert_ok(uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--mapping-table", "--yes"))
    with connect(dsn) as conn:
        pairs = conn.execute(
            "SELECT o.number, m.old_value FROM uuidpk.map_public_order_order m "
            "JOIN order_order o ON o.id = m.new_value"
        ).fetchall()
        assert set(pairs) == before and len(pairs) == len(before)
        count = conn.execute("SELECT count(*) FROM uuidpk.map_public_order_order").fetchone()
        assert count == (len(before),)
        types = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'uuidpk.map_public_order_order'::regclass AND attnum > 0"
        ).fetchall()
        assert dict(types) == {"old_value": "integer", "new_value": "uuid"}


@pytest.mark.parametrize(
    "tables",
    [
        [
            ("public", "customer_loyalty_programme_membership_status_history_a"),
            ("public", "customer_loyalty_programme_membership_status_history_b"),
        ],
        [("a_b", "c"), ("a", "b_c")],
    ],
    ids=["truncated", "look-alike"],
)
def test_mapping_tables_of_long_or_look_alike_names_do_not_collide(
    conn: psycopg.Connection, dsn: str, tables: list[tuple[str, str]]
) -> None:
    for schema, table in tables:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        name = sql.Identifier(schema, table)
        conn.execute(sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, v text)").format(name))
        conn.execute(sql.SQL("INSERT INTO {} (v) VALUES ('one'), ('two')").format(name))
    before = {
        t: set(conn.execute(sql.SQL("SELECT v, id FROM {}").format(sql.Identifier(*t))).fetchall())
        for t in tables
    }
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--mapping-table", "--yes"))
    mappings = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'uuidpk'::regnamespace "
        "AND relkind = 'r' AND relname LIKE 'map%'"
    ).fetchall()
    assert len(mappings) == len(tables)
    matched = set()
    for (mapping,) in mappings:
        for table in tables:
            pairs = conn.execute(
                sql.SQL("SELECT t.v, m.old_value FROM {} m JOIN {} t ON t.id = m.new_value").format(
                    sql.Identifier("uuidpk", mapping), sql.Identifier(*table)
                )
            ).fetchall()
            if set(pairs) == before[table] and len(pairs) == len(before[table]):
                matched.add(table)
    assert matched == set(tables)


def test_mapping_tables_of_look_alike_names_in_separate_runs(
    conn: psycopg.Connection, dsn: str
) -> None:
    conn.execute(
        "CREATE SCHEMA a; CREATE SCHEMA a_b;"
        "CREATE TABLE a.b_c (id serial PRIMARY KEY); CREATE TABLE a_b.c (id serial PRIMARY KEY);"
        "INSERT INTO a.b_c DEFAULT VALUES; INSERT INTO a_b.c DEFAULT VALUES"
    )
    for table in ("a.b_c", "a_b.c"):
        assert_ok(uuidpk("apply", "--dsn", dsn, "--table", table, "--mapping-table", "--yes"))
    count = conn.execute(
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'uuidpk'::regnamespace "
        "AND relkind = 'r' AND relname LIKE 'map%'"
    ).fetchone()
    assert count == (2,)


# -- what uuidpk refuses -------------------------------------------------------------------------

REFUSED = {
    "partition key": (
        """CREATE TABLE h (id integer PRIMARY KEY, v text) PARTITION BY HASH (id);
           CREATE TABLE h0 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 0);
           CREATE TABLE h1 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 1);
           CREATE TABLE r (id serial PRIMARY KEY, h_id integer REFERENCES h);
           INSERT INTO h VALUES (1, 'a'), (2, 'b');
           INSERT INTO r (h_id) VALUES (1), (2), (NULL);""",
        "h",
        "partition key",
    ),
    "check comparing the key with a number": (
        """CREATE TABLE p (id serial PRIMARY KEY CHECK (id > 0));
           CREATE TABLE q (id serial PRIMARY KEY, p_id integer REFERENCES p);
           INSERT INTO p DEFAULT VALUES;
           INSERT INTO q (p_id) SELECT id FROM p;""",
        "p",
        "check constraint",
    ),
    "generated column over the key": (
        """CREATE TABLE g (id serial PRIMARY KEY, twice bigint GENERATED ALWAYS AS (id * 2) STORED);
           INSERT INTO g DEFAULT VALUES;""",
        "g",
        "twice",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_cannot_be_converted_is_refused_up_front(
    conn: psycopg.Connection, dsn: str, case: str
) -> None:
    schema, table, fragment = REFUSED[case]
    conn.execute(schema)
    before = state(conn)
    for command in (["generate"], ["apply", "--yes"], ["apply", "--yes", "--all"]):
        args = [*command, "--dsn", dsn] + ([] if "--all" in command else ["--table", table])
        line = assert_clean_failure(uuidpk(*args))
        assert fragment in line, line
    assert state(conn) == before


def test_a_clash_with_an_existing_column_is_refused_before_anything_runs(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 200)
    with connect(dsn) as conn:
        conn.execute("ALTER TABLE order_order ADD COLUMN old_id integer")
        before = state(conn)
    outcome = uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--keep-old-id", "--yes")
    assert outcome.code == 1 and outcome.exception is None and "Traceback" not in outcome.err
    (line,) = outcome.err_lines  # refused from the catalog: no step ran (tests/test_preflight.py)
    assert line.startswith("uuidpk: error:") and "already has a column old_id" in line, line
    with connect(dsn) as conn:
        assert state(conn) == before


# -- key shapes --------------------------------------------------------------------------------

PARENT_CHILD = """
CREATE TABLE p (id {key}, name text NOT NULL UNIQUE);
CREATE TABLE c (id serial PRIMARY KEY, p_id {ref} NOT NULL REFERENCES p ON DELETE CASCADE,
                label text NOT NULL);
INSERT INTO p ({id_col}name) SELECT {id_val}'p' || i FROM generate_series(1, 50) i;
INSERT INTO c (p_id, label) SELECT p.id, 'c' || i
  FROM generate_series(1, 120) i JOIN p ON p.name = 'p' || (1 + i % 50);
"""


def parent_child(key: str, ref: str = "integer", explicit_ids: bool = False) -> str:
    return PARENT_CHILD.format(
        key=key,
        ref=ref,
        id_col="id, " if explicit_ids else "",
        id_val="i * 10, " if explicit_ids else "",
    )


P_AND_C = {("public", "p", "id"), ("public", "c", "p_id")}

SHAPES: dict[str, tuple[str, list[str], set[tuple[str, str, str]], str | None]] = {
    # name: (schema and rows, arguments, columns that become uuid, insert without an id)
    "identity always": (
        parent_child("integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        ["--table", "p"],
        P_AND_C,
        "INSERT INTO p (name) VALUES ('new') RETURNING id",
    ),
    "identity by default": (
        parent_child("bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "bigint"),
        ["--table", "p"],
        P_AND_C,
        "INSERT INTO p (name) VALUES ('new') RETURNING id",
    ),
    "serial": (
        parent_child("serial PRIMARY KEY"),
        ["--table", "public.p"],
        P_AND_C,
        "INSERT INTO p (name) VALUES ('new') RETURNING id",
    ),
    "plain integer": (
        parent_child("integer PRIMARY KEY", explicit_ids=True),
        ["--table", "p"],
        P_AND_C,
        None,
    ),
    "smallint": (
        parent_child("smallserial PRIMARY KEY", "smallint"),
        ["--table", "p"],
        P_AND_C,
        "INSERT INTO p (name) VALUES ('new') RETURNING id",
    ),
    "bigint": (
        parent_child("bigserial PRIMARY KEY", "bigint"),
        ["--table", "p"],
        P_AND_C,
        "INSERT INTO p (name) VALUES ('new') RETURNING id",
    ),
    "text key": (
        """CREATE TABLE country (code text PRIMARY KEY, name text NOT NULL);
           CREATE TABLE city (id serial PRIMARY KEY, name text NOT NULL,
                              country text REFERENCES country ON UPDATE CASCADE);
           INSERT INTO country VALUES ('NL', 'Netherlands'), ('FR', 'France'),
                                      ('back\\slash', 'odd'), ('it''s', 'odder'), ('é', 'accent');
           INSERT INTO city (name, country) VALUES ('Amsterdam', 'NL'), ('Paris', 'FR'),
               ('Lyon', 'FR'), ('Nowhere', NULL), ('X', 'back\\slash'), ('Y', 'it''s'),
               ('Z', 'é');""",
        ["--table", "country", "--allow-text-keys"],
        {("public", "country", "code"), ("public", "city", "country")},
        None,
    ),
    "varchar key": (
        """CREATE TABLE sku (code varchar(12) PRIMARY KEY, title text NOT NULL);
           CREATE TABLE stock (id serial PRIMARY KEY, sku varchar(12) NOT NULL REFERENCES sku,
                               qty integer NOT NULL);
           INSERT INTO sku SELECT 'SKU-' || i, 'item ' || i FROM generate_series(1, 40) i;
           INSERT INTO stock (sku, qty)
                SELECT 'SKU-' || (1 + i % 40), i FROM generate_series(1, 90) i;""",
        ["--table", "sku", "--allow-text-keys"],
        {("public", "sku", "code"), ("public", "stock", "sku")},
        None,
    ),
    "foreign keys from another schema": (
        """CREATE SCHEMA sales;
           CREATE TABLE customer (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
           CREATE TABLE sales."order" (id serial PRIMARY KEY, ref text NOT NULL,
               customer_id integer NOT NULL REFERENCES public.customer);
           CREATE TABLE sales.note (id serial PRIMARY KEY, body text NOT NULL,
               customer_id integer REFERENCES public.customer ON DELETE SET NULL);
           INSERT INTO customer (email) SELECT 'c' || i || '@x' FROM generate_series(1, 20) i;
           INSERT INTO sales."order" (ref, customer_id)
                SELECT 'o' || i, 1 + (i * 7) % 20 FROM generate_series(1, 60) i;
           INSERT INTO sales.note (body, customer_id)
                SELECT 'n' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % 20 END
                  FROM generate_series(1, 30) i;""",
        ["--table", "customer"],
        {
            ("public", "customer", "id"),
            ("sales", "order", "customer_id"),
            ("sales", "note", "customer_id"),
        },
        "INSERT INTO customer (email) VALUES ('new@x') RETURNING id",
    ),
    "two foreign keys to one parent": (
        """CREATE TABLE city (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
           CREATE TABLE trip (id serial PRIMARY KEY, label text NOT NULL,
               from_city integer NOT NULL REFERENCES city,
               to_city integer NOT NULL REFERENCES city);
           INSERT INTO city (name) SELECT 'city ' || i FROM generate_series(1, 15) i;
           INSERT INTO trip (label, from_city, to_city)
                SELECT 't' || i, 1 + i % 15, 1 + (i * 4) % 15 FROM generate_series(1, 50) i;""",
        ["--table", "city"],
        {("public", "city", "id"), ("public", "trip", "from_city"), ("public", "trip", "to_city")},
        "INSERT INTO city (name) VALUES ('new') RETURNING id",
    ),
    "self reference with a cycle": (
        """CREATE TABLE employee (id serial PRIMARY KEY, name text NOT NULL UNIQUE,
               manager_id integer REFERENCES employee DEFERRABLE INITIALLY DEFERRED);
           INSERT INTO employee (name) SELECT 'e' || i FROM generate_series(1, 30) i;
           UPDATE employee SET manager_id = CASE WHEN id = 1 THEN 2 WHEN id = 2 THEN 1
                                                 WHEN id % 5 = 0 THEN NULL ELSE id / 2 END;""",
        ["--table", "employee"],
        {("public", "employee", "id"), ("public", "employee", "manager_id")},
        "INSERT INTO employee (name) VALUES ('new') RETURNING id",
    ),
    "two-table cycle with --all": (
        """CREATE TABLE a (id serial PRIMARY KEY, name text NOT NULL UNIQUE, b_id integer);
           CREATE TABLE b (id serial PRIMARY KEY, name text NOT NULL UNIQUE,
                           a_id integer REFERENCES a);
           ALTER TABLE a ADD CONSTRAINT a_b_fk FOREIGN KEY (b_id) REFERENCES b
                 DEFERRABLE INITIALLY DEFERRED;
           INSERT INTO a (name) SELECT 'a' || i FROM generate_series(1, 10) i;
           INSERT INTO b (name, a_id) SELECT 'b' || i, 11 - i FROM generate_series(1, 10) i;
           UPDATE a SET b_id = (SELECT b.id FROM b WHERE b.a_id = a.id) WHERE id % 2 = 0;""",
        ["--all"],
        {
            ("public", "a", "id"),
            ("public", "a", "b_id"),
            ("public", "b", "id"),
            ("public", "b", "a_id"),
        },
        "INSERT INTO a (name) VALUES ('new') RETURNING id",
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_key_shapes_convert_with_their_relations(
    conn: psycopg.Connection, dsn: str, shape: str
) -> None:
    schema, args, expected, insert = SHAPES[shape]
    conn.execute(schema)
    rows = read_rows(conn)
    types = column_types(conn)
    facts = schema_facts(conn)
    assert_ok(uuidpk("apply", "--dsn", dsn, *args, "--yes"))
    if "--allow-text-keys" in args:
        # A natural key keeps its old values (in old_id): compare the rest without that column.
        root = args[args.index("--table") + 1]
        kept = column_types(conn).pop(("public", root, "old_id"))
        assert kept == types[("public", root, "code")]
        conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN old_id").format(sql.Identifier(root)))
    changed = changed_to_uuid(types, column_types(conn))
    assert changed == expected
    assert_same_relations(rows, read_rows(conn), changed)
    assert facts_without(schema_facts(conn), changed) == facts_without(facts, changed)
    after = {f: p for f, p in schema_facts(conn).items() if f[0] == "column"}
    for schema_name, table, column in changed:
        props = after[("column", schema_name, table, column)]
        assert props["identity"] == ""
        was = facts[("column", schema_name, table, column)]
        if was["default"] is None and not was["identity"]:
            assert props["default"] is None  # no generator before, none after
    if insert is not None:
        row = conn.execute(insert).fetchone()
        assert row is not None and isinstance(row[0], uuid.UUID)
    assert second_plan_is_empty(dsn) or args != ["--all"]


# -- dry run, confirmation ---------------------------------------------------------------------


def test_dry_run_changes_nothing(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> None:
    dsn = shop_copy(pg, request, 200)
    with connect(dsn) as conn:
        before = state(conn)
    outcome = assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--dry-run"))
    assert "dry run" in outcome.err
    with connect(dsn) as conn:
        assert state(conn) == before


def test_apply_without_yes_off_a_terminal_refuses(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 200)
    with connect(dsn) as conn:
        before = state(conn)
    line = assert_clean_failure(
        uuidpk("apply", "--dsn", dsn, "--table", "order_order", input="y\n"), code=2
    )
    assert "--yes" in line
    proc = subprocess.run(
        uuidpk_command("apply", "--dsn", dsn, "--table", "order_order"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    with connect(dsn) as conn:
        assert state(conn) == before


# -- interrupted runs --------------------------------------------------------------------------

# Big enough that each ALTER ... TYPE uuid takes many polling intervals (order_orderline has
# ~60,000 rows), small enough to share the 20,000-order template with the tests above.
KILL_ORDERS = 20_000
ALTER_RUNNING = """
    SELECT pid FROM pg_stat_activity
     WHERE datname = %s AND application_name = 'uuidpk' AND state = 'active'
       AND query ILIKE 'ALTER TABLE%%TYPE uuid%%'
"""


def start_apply(dsn: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        uuidpk_command("apply", "--dsn", dsn, "--table", "order_order", "--yes"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=REPO,
    )


def wait_for_alter(admin_dsn: str, dbname: str, proc: subprocess.Popen[str]) -> int:
    """The backend pid once the client's transaction is inside an ALTER ... TYPE uuid."""
    deadline = time.monotonic() + 120
    with connect(admin_dsn) as admin:
        while time.monotonic() < deadline:
            row = admin.execute(ALTER_RUNNING, [dbname]).fetchone()
            if row is not None:
                return int(row[0])
            if proc.poll() is not None:
                _, err = proc.communicate()
                pytest.fail(
                    f"apply ended (exit {proc.returncode}) before an ALTER was seen:\n{err}"
                )
            time.sleep(0.005)
    proc.kill()
    pytest.fail("no ALTER ... TYPE uuid seen within 120 s")


def wait_until_gone(admin_dsn: str, dbname: str) -> None:
    deadline = time.monotonic() + 180
    with connect(admin_dsn) as admin:
        while time.monotonic() < deadline:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name = 'uuidpk'",
                [dbname],
            ).fetchone()
            if row == (0,):
                return
            time.sleep(0.05)
    pytest.fail("the killed client's backend is still there after 180 s")


Baseline = dict[str, Any]
_baselines: dict[str, Baseline] = {}


def baseline(conn: psycopg.Connection, template: str) -> Baseline:
    """The state of a fresh copy of `template` (the same for every copy; computed once)."""
    if template not in _baselines:
        _baselines[template] = {
            "facts": schema_facts(conn),
            "data": data_hashes(conn),
            "snapshot": natural_snapshot(conn),
        }
    return _baselines[template]


def assert_as_before(conn: psycopg.Connection, expected: Baseline) -> None:
    types = column_types(conn)
    assert {types[c] for c in SHOP_KEY_COLUMNS} == {"integer"}
    assert schema_facts(conn) == expected["facts"]
    assert data_hashes(conn) == expected["data"]
    assert natural_snapshot(conn) == expected["snapshot"]


@pytest.fixture
def big_shop(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str, Baseline]]:
    template = shop_template(pg, KILL_ORDERS)
    name, dsn = clone(pg, template, hint="interrupted")
    try:
        with connect(dsn) as conn:
            expected = baseline(conn, template)
        yield name, dsn, expected
    finally:
        pg.drop_database(name)


def test_killing_the_client_mid_alter_changes_nothing(
    pg: pgutil.PgCluster, big_shop: tuple[str, str, Baseline]
) -> None:
    name, dsn, expected = big_shop
    proc = start_apply(dsn)
    try:
        wait_for_alter(pg.admin_dsn, name, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_until_gone(pg.admin_dsn, name)
    with connect(dsn) as conn:
        assert_as_before(conn, expected)


def test_terminating_the_backend_mid_alter_changes_nothing(
    pg: pgutil.PgCluster, big_shop: tuple[str, str, Baseline]
) -> None:
    name, dsn, expected = big_shop
    proc = start_apply(dsn)
    try:
        pid = wait_for_alter(pg.admin_dsn, name, proc)
        with connect(pg.admin_dsn) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("uuidpk: error:") and "nothing changed" in last, err
    wait_until_gone(pg.admin_dsn, name)
    with connect(dsn) as conn:
        assert_as_before(conn, expected)


def restart(cluster: pgutil.PgCluster) -> None:
    """Start a stopped private server again on its port."""
    assert cluster.tmpdir is not None and cluster._data_dir is not None
    subprocess.run(
        [
            *cluster._pg_ctl,
            "start",
            "-D",
            str(cluster._data_dir),
            "-w",
            "-t",
            "120",
            "-l",
            str(cluster.tmpdir / "server.log"),
            "-o",
            f"-p {cluster.port}",
        ],
        cwd=cluster.tmpdir,
        capture_output=True,
        check=True,
        timeout=180,
    )


def test_crashing_the_server_mid_alter_changes_nothing(pg: pgutil.PgCluster) -> None:
    """pg_ctl stop -m immediate on a private server: after crash recovery the transaction is
    gone and the database is as before."""
    try:
        cluster = pgutil.start_server()
    except pgutil.HarnessError as exc:
        pytest.skip(f"cannot start a private server: {exc}")
    try:
        name, dsn = cluster.create_database("crash")
        with connect(dsn) as conn:
            from uuidpk.sample import load_shop

            load_shop(conn, orders=KILL_ORDERS)
            expected = baseline(conn, f"private:{KILL_ORDERS}")
        proc = start_apply(dsn)
        try:
            wait_for_alter(cluster.admin_dsn, name, proc)
            subprocess.run(
                [*cluster._pg_ctl, "stop", "-D", str(cluster._data_dir), "-m", "immediate", "-w"],
                cwd=cluster.tmpdir,
                capture_output=True,
                check=True,
                timeout=120,
            )
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 1 and "Traceback" not in err, err
        restart(cluster)
        with connect(dsn) as conn:
            assert_as_before(conn, expected)
    finally:
        cluster.close()


# -- every rendered statement parses -----------------------------------------------------------

# Statement shapes sqlglot (dialect postgres) cannot read into a syntax tree, and what it does:
# "command" = falls back to an opaque exp.Command, "error" = raises ParseError. Everything else
# uuidpk renders must parse into a real tree.
SQLGLOT_CANNOT_PARSE = {
    "LOCK TABLE": "command",
    "DO": "command",  # the dollar-quoted PL/pgSQL body: key_function_random.sql
    "CREATE FUNCTION": "command",  # key_function_kept.sql
    "ALTER TABLE": "command",  # only ... ALTER COLUMN ... DROP IDENTITY
    "ALTER SEQUENCE": "command",  # ... OWNED BY NONE
    "COMMENT ON CONSTRAINT": "error",
    "CREATE POLICY": "command",
    "CREATE TRIGGER": "command",
    "CREATE RULE": "command",
    "GRANT": "command",
    "ALTER VIEW": "command",
    "ALTER MATERIALIZED VIEW": "command",
    "ALTER POLICY": "command",
    "DROP POLICY": "command",
    "DROP TRIGGER": "command",
    "DROP RULE": "command",
}


def parse_report(script: str) -> dict[str, list[str]]:
    """Each statement of a script parsed with sqlglot: {"tree": [...], "command": [...],
    "error": [...]} of statement shapes."""
    report: dict[str, list[str]] = {"tree": [], "command": [], "error": []}
    for statement in split_script(script):
        try:
            trees = sqlglot.parse(statement, read="postgres")
        except sqlglot.errors.ParseError:
            report["error"].append(statement)
            continue
        assert len(trees) == 1, f"the split left two statements in one: {statement}"
        kind = "command" if isinstance(trees[0], exp.Command) else "tree"
        report[kind].append(statement)
    return report


def shape_of(statement: str) -> str:
    shape = sql_shape(statement)
    for known in sorted(SQLGLOT_CANNOT_PARSE, key=len, reverse=True):
        if shape.startswith(known):
            return known
    return shape


def assert_statements_parse(script: str) -> dict[str, list[str]]:
    report = parse_report(script)
    assert report["tree"], "nothing parsed at all"
    for kind in ("command", "error"):
        for statement in report[kind]:
            shape = shape_of(statement)
            assert SQLGLOT_CANNOT_PARSE.get(shape) == kind, f"sqlglot {kind}: {statement[:300]}"
    for statement in report["command"]:
        if shape_of(statement) == "ALTER TABLE":
            assert "DROP IDENTITY" in statement, statement
        if shape_of(statement) == "CREATE FUNCTION":  # its SQL body, at least, must parse
            match = re.search(r"\bAS\s+\$(\w*)\$(.*)\$\1\$", statement, re.S)
            assert match is not None, statement
            body = match.group(2)
            assert isinstance(sqlglot.parse_one(body, read="postgres"), exp.Select), body
    return report


def test_splitting_keeps_dollar_quoted_bodies_whole() -> None:
    text = (
        "-- a comment; with a semicolon\n\\set ON_ERROR_STOP on\nBEGIN;\n"
        "DO $uuidpk$\nBEGIN\n  EXECUTE format($f$SELECT 1; SELECT 'x;'$f$);\nEND\n$uuidpk$;\n"
        "SELECT 'it''s; fine', \"odd;name\", E'\\';';\nCOMMIT;\n"
    )
    assert split_script(text) == [
        "BEGIN",
        "DO $uuidpk$\nBEGIN\n  EXECUTE format($f$SELECT 1; SELECT 'x;'$f$);\nEND\n$uuidpk$",
        "SELECT 'it''s; fine', \"odd;name\", E'\\';'",
        "COMMIT",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--table", "order_order"],
        ["--all", "--keep-old-id", "--mapping-table"],
        ["--all", "--keep-old-id=legacy id", "--key-file", "KEY"],
    ],
)
def test_shop_script_statements_parse(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path, args: list[str]
) -> None:
    dsn = shop_copy(pg, request, 20)
    if "KEY" in args:
        key_file = tmp_path / "key.hex"
        key_file.write_text(assert_ok(uuidpk("keygen")).out)
        args = [str(key_file) if a == "KEY" else a for a in args]
    script = assert_ok(uuidpk("generate", "--dsn", dsn, *args)).out
    report = assert_statements_parse(script)
    dos = [s for s in report["command"] if s.startswith("DO ")]
    assert all(s.endswith("$uuidpk$") for s in dos)
    alters = [s for s in report["tree"] if "TYPE uuid USING" in s]
    assert alters, "no ALTER ... TYPE uuid parsed"
    for statement in alters:
        tree = sqlglot.parse_one(statement, read="postgres")
        assert any(d.is_type("uuid") for d in tree.find_all(exp.DataType)), statement


def test_hostile_script_statements_parse(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute(HOSTILE_SQL)
    script = assert_ok(
        uuidpk("generate", "--dsn", dsn, "--all", "--mapping-table", "--keep-old-id")
    ).out
    report = assert_statements_parse(script)
    tables = {
        (t.db, t.name)
        for s in report["tree"]
        for t in sqlglot.parse_one(s, read="postgres").find_all(exp.Table)
    }
    assert {("App", 'Order "x"'), ("App", "LineItem"), ("App", "select")} <= tables


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", pgutil.CORPUS_NAMES)
def test_corpus_script_statements_parse(
    corpus_dsn_factory: Callable[[str], str], corpus: str
) -> None:
    dsn = corpus_dsn_factory(corpus)
    script = assert_ok(uuidpk("generate", "--dsn", dsn, "--all")).out
    assert_statements_parse(script)


def test_a_held_lock_times_out_and_changes_nothing(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    """A long transaction holding a closure table: apply gives up after --lock-timeout instead
    of queueing an ACCESS EXCLUSIVE request that would block every reader behind it."""
    dsn = shop_copy(pg, request, 200)
    with connect(dsn) as conn:
        before = state(conn)
    with psycopg.connect(dsn) as holder:
        holder.execute("SELECT count(*) FROM payment_payment")  # ACCESS SHARE until rollback
        outcome = uuidpk(
            "apply", "--dsn", dsn, "--table", "order_order", "--yes", "--lock-timeout", "1s"
        )
        holder.rollback()
    assert outcome.code == 1, outcome.describe()
    assert "Traceback" not in outcome.err
    errors = [line for line in outcome.err_lines if "error:" in line]
    assert errors == [outcome.err_lines[-1]], outcome.describe()  # progress lines, then one error
    assert "lock timeout" in errors[0] and "nothing changed" in errors[0]
    assert "connection lost" not in errors[0]
    with connect(dsn) as conn:
        assert state(conn) == before

"""The catalog read: one schema filter for every query, the tool's own schema told apart from a
user's schema named uuidpk, functions read in the same snapshot, extensions' tables left alone."""

from __future__ import annotations

import json

import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, connect, state, uuidpk

from uuidpk import templates
from uuidpk.catalog import read_catalog, require_tool_schema
from uuidpk.errors import ForeignToolSchema
from uuidpk.model import TOOL_SCHEMA_MARKER, Catalog, ToolSchema, tool_schema_state
from uuidpk.store import create_fingerprint_tables

# Schemas whose names start like excluded ones but are the user's own.
LOOKALIKES = """
CREATE SCHEMA information_schema_x;
CREATE SCHEMA uuidpk_app;
CREATE SCHEMA "pg";
CREATE TABLE information_schema_x.thing (id serial PRIMARY KEY, note text);
CREATE TABLE uuidpk_app.item (id serial PRIMARY KEY,
                              thing_id int REFERENCES information_schema_x.thing);
CREATE TABLE pg.part (id serial PRIMARY KEY, item_id int REFERENCES uuidpk_app.item);
CREATE VIEW uuidpk_app.item_view AS SELECT id, thing_id FROM uuidpk_app.item;
CREATE POLICY mine ON uuidpk_app.item USING (thing_id > 0);
CREATE FUNCTION uuidpk_app.item_count(i int) RETURNS bigint LANGUAGE sql
    AS $$SELECT count(*) FROM uuidpk_app.item WHERE thing_id = i$$;
"""

# Objects of every kind the catalog reads, in the tool's own schema: none may be read.
IN_TOOL_SCHEMA = """
CREATE VIEW uuidpk.run_view AS SELECT id, status FROM uuidpk.fingerprint_run;
CREATE POLICY tool_policy ON uuidpk.fingerprint_run USING (id > 0);
CREATE FUNCTION uuidpk.run_count(i bigint) RETURNS bigint LANGUAGE sql
    AS $$SELECT count(*) FROM uuidpk.fingerprint_run WHERE id = i$$;
CREATE SEQUENCE uuidpk.tool_sequence;
"""


def _schemas_read(catalog: Catalog) -> set[str]:
    """Every schema that any part of the catalog read names or points into."""
    names = {t.schema for t in catalog.tables}
    names |= {s.schema for s in catalog.sequences}
    names |= {v.schema for v in catalog.views}
    names |= {f.schema for f in catalog.functions}
    by_oid = {t.oid: t.schema for t in catalog.tables}
    for oids in (
        [c.table_oid for c in catalog.columns],
        [c.table_oid for c in catalog.constraints],
        [i.table_oid for i in catalog.indexes],
        [p.table_oid for p in catalog.policies],
        [d.table_oid for d in catalog.dependents],
    ):
        names |= {by_oid.get(oid, f"unknown table {oid}") for oid in oids}
    return names


def test_one_schema_filter_sees_lookalikes_and_skips_the_tools_schema(
    conn: psycopg.Connection,
) -> None:
    conn.execute(LOOKALIKES)
    with conn.transaction():
        create_fingerprint_tables(conn)
    conn.execute(IN_TOOL_SCHEMA)
    conn.execute("CREATE TEMPORARY TABLE scratch (id serial PRIMARY KEY)")
    catalog = read_catalog(conn)  # same session: its pg_temp_N schema holds scratch
    assert catalog.tool_schema is ToolSchema.MARKED
    assert _schemas_read(catalog) == {"information_schema_x", "uuidpk_app", "pg"}
    assert {str(t.qname) for t in catalog.tables} == {
        "information_schema_x.thing",
        "uuidpk_app.item",
        "uuidpk_app.item_view",
        "pg.part",
    }
    assert [f.name for f in catalog.functions] == ["item_count"]
    assert [p.name for p in catalog.policies] == ["mine"]
    assert {s.name for s in catalog.sequences} == {"thing_id_seq", "item_id_seq", "part_id_seq"}
    assert catalog.uuidpk_tables >= {"fingerprint_run", "fingerprint", "run_view"}


def test_every_catalog_query_takes_the_one_filter() -> None:
    for name in templates.names():
        if not name.startswith("catalog/"):
            continue
        text = templates.load(name)
        assert "'uuidpk'" not in text.replace("n.nspname = 'uuidpk'", ""), name
        assert "information_schema'" not in text or name == "catalog/schemas.sql", name
    reads = ("tables", "columns", "constraints", "indexes", "sequences", "dependents")
    for read in (*reads, "views", "policies", "functions"):
        assert "= ANY(%(schemas)s::oid[])" in templates.load(f"catalog/{read}.sql"), read


def test_sequence_fed_columns_have_one_definition() -> None:
    """What the fingerprint reads, what reading it needs (privileges, locks): one query."""
    assert "n.oid = ANY({schemas})" in templates.load("catalog/sequence_columns.sql")
    for user in ("catalog/lock_estimate.sql", "catalog/missing_privileges.sql"):
        assert "({sequence_columns})" in templates.load(user), user
        assert "pg_depend" not in templates.load(user), user
    assert "{columns}" in templates.load("verify/record_problems.sql")
    assert not [n for n in templates.names() if n.startswith("verify/sequence_columns")]


@pytest.mark.parametrize(
    ("comment", "relations", "expected"),
    [
        (None, None, ToolSchema.ABSENT),
        (TOOL_SCHEMA_MARKER, {"audit"}, ToolSchema.MARKED),
        (None, {"fingerprint_run", "fingerprint", "map_public_orders"}, ToolSchema.LEGACY),
        (None, {"fingerprint_parent_123_1"}, ToolSchema.LEGACY),
        (None, set(), ToolSchema.LEGACY),
        (None, {"fingerprint_run", "audit"}, ToolSchema.FOREIGN),
        ("our audit tables", {"fingerprint_run"}, ToolSchema.FOREIGN),
    ],
)
def test_tool_schema_state(
    comment: str | None, relations: set[str] | None, expected: ToolSchema
) -> None:
    names = None if relations is None else frozenset(relations)
    assert tool_schema_state(comment, names) is expected


def test_the_tool_marks_the_schema_it_makes(conn: psycopg.Connection) -> None:
    assert read_catalog(conn).tool_schema is ToolSchema.ABSENT
    with conn.transaction():
        create_fingerprint_tables(conn)
        create_fingerprint_tables(conn)  # again: still one schema, same comment
    row = conn.execute("SELECT obj_description('uuidpk'::regnamespace, 'pg_namespace')").fetchone()
    assert row == (TOOL_SCHEMA_MARKER,)
    catalog = read_catalog(conn)
    assert catalog.tool_schema is ToolSchema.MARKED
    require_tool_schema(catalog)


def test_a_schema_from_an_earlier_uuidpk_is_the_tools(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE SCHEMA uuidpk; CREATE TABLE uuidpk.fingerprint_run (id int PRIMARY KEY);"
        "CREATE TABLE uuidpk.map_public_orders (old_value int PRIMARY KEY, new_value uuid)"
    )
    catalog = read_catalog(conn)
    assert catalog.tool_schema is ToolSchema.LEGACY
    assert not [t for t in catalog.tables if t.schema == "uuidpk"]
    assert catalog.uuidpk_tables == {"fingerprint_run", "map_public_orders"}
    require_tool_schema(catalog)


FOREIGN = """
CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
CREATE SCHEMA uuidpk;
CREATE TABLE uuidpk.audit (id serial PRIMARY KEY,
                           order_id int REFERENCES public.orders, what text);
INSERT INTO public.orders (note) SELECT 'order ' || i FROM generate_series(1, 5) i;
INSERT INTO uuidpk.audit (order_id, what) SELECT 1 + i % 5, 'x' FROM generate_series(1, 9) i;
"""


def test_a_users_uuidpk_schema_is_read_and_never_written(dsn: str) -> None:
    with connect(dsn) as conn:
        conn.execute(FOREIGN)
        catalog = read_catalog(conn)
        before = state(conn)
    assert catalog.tool_schema is ToolSchema.FOREIGN
    assert "uuidpk.audit" in {str(t.qname) for t in catalog.tables}
    assert catalog.uuidpk_tables == frozenset()
    with pytest.raises(ForeignToolSchema):
        require_tool_schema(catalog)

    out = assert_ok(uuidpk("inspect", "--dsn", dsn, "--table", "public.orders", "--format", "json"))
    (key,) = json.loads(out.out)["keys"]
    assert "uuidpk.audit.order_id" in key["closure"]["columns"]

    for extra in ([], ["--mapping-table"], ["--dry-run"]):
        line = assert_clean_failure(
            uuidpk("apply", "--dsn", dsn, "--table", "public.orders", "--yes", *extra)
        )
        assert "schema uuidpk exists and was not made by uuidpk" in line, line
    line = assert_clean_failure(
        uuidpk("generate", "--dsn", dsn, "--table", "public.orders", "--mapping-table")
    )
    assert "schema uuidpk" in line
    assert "uuidpk.audit" in assert_ok(uuidpk("generate", "--dsn", dsn, "--all")).out
    with connect(dsn) as conn:
        assert state(conn) == before


# An extension's table, made the way an extension script makes it: ALTER EXTENSION ... ADD
# records the same pg_depend 'e' row that CREATE EXTENSION records for the tables its script
# creates (no contrib extension of PostgreSQL 15 owns a table, and writing a control file into
# the server's share directory needs its owner's rights).
EXTENSION = """
CREATE EXTENSION isn;
CREATE TABLE public.isbn_registry (id serial PRIMARY KEY, prefix text NOT NULL);
ALTER EXTENSION isn ADD TABLE public.isbn_registry;
ALTER EXTENSION isn ADD SEQUENCE public.isbn_registry_id_seq;
CREATE TABLE public.books (id serial PRIMARY KEY, registry_id int REFERENCES public.isbn_registry);
-- a one-to-one extension of the extension's table: its key's closure holds isbn_registry.id
CREATE TABLE public.registry_note (id int PRIMARY KEY REFERENCES public.isbn_registry, note text);
"""


def test_an_extensions_tables_are_never_converted(dsn: str) -> None:
    with connect(dsn) as conn:
        conn.execute(EXTENSION)
        tables = {str(t.qname): t.extension for t in read_catalog(conn).tables}
        before = state(conn)
    assert tables == {
        "public.isbn_registry": "isn",
        "public.books": None,
        "public.registry_note": None,
    }
    # inspect exits 1 when a refused key stops the plan (registry_note's, below), and still
    # prints the document.
    outcome = uuidpk("inspect", "--dsn", dsn, "--all", "--format", "json")
    assert outcome.code == 1 and outcome.exception is None, outcome.describe()
    document = json.loads(outcome.out)
    assert sorted(k["table"] for k in document["keys"]) == ["books", "registry_note"]
    (note,) = [k for k in document["keys"] if k["table"] == "registry_note"]
    assert "public.isbn_registry.id" in note["closure"]["columns"]
    assert {
        (p["severity"], p["what"], p["name"])
        for p in note["problems"]
        if p["severity"] == "refused"
    } == {("refused", "extension table", "public.isbn_registry.id")}
    for command in ("inspect", "generate", "apply"):
        line = assert_clean_failure(
            uuidpk(command, "--dsn", dsn, "--table", "isbn_registry", "--yes")
            if command == "apply"
            else uuidpk(command, "--dsn", dsn, "--table", "isbn_registry")
        )
        assert "public.isbn_registry belongs to extension isn" in line, line
    # Through another table's key: refused before anything changes, naming the extension.
    line = assert_clean_failure(
        uuidpk("apply", "--dsn", dsn, "--table", "registry_note", "--yes", "--accept-risks")
    )
    assert "public.isbn_registry.id: belongs to extension isn" in line, line
    with connect(dsn) as conn:
        assert state(conn) == before

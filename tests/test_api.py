"""The public Python API drives a whole conversion without click: what a Django management
command or a script does. Real PostgreSQL (the sample shop)."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

import uuidpk
from uuidpk.sample import load_shop, natural_snapshot


def _column_type(conn: psycopg.Connection, table: str, column: str) -> str:
    row = conn.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attname = %s",
        (table, column),
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_public_api_lists_what_it_exports() -> None:
    for name in uuidpk.__all__:
        assert hasattr(uuidpk, name), name


def test_whole_conversion_through_the_python_api(dsn: str) -> None:
    with uuidpk.connect(dsn) as conn:
        load_shop(conn, orders=60)
        before = natural_snapshot(conn)
        selection = uuidpk.Selection(tables=("order_order",))

        document = uuidpk.inspect(conn, selection)
        (key,) = document["keys"]
        assert key["table"] == "order_order"
        assert "order_orderline.order_id" in " ".join(key["closure"]["columns"])

        conversion = uuidpk.plan(conn, selection)
        assert not conversion.is_empty and conversion.tables >= 2
        script = uuidpk.render_script(conn, conversion)
        assert "ALTER TABLE" in script and _column_type(conn, "order_order", "id") == "integer"

        applied = uuidpk.apply(conn, conversion, accept_risks=True)
        assert applied.run_id is not None and not applied.dry_run
        assert _column_type(conn, "order_order", "id") == "uuid"
        assert _column_type(conn, "order_orderline", "order_id") == "uuid"
        assert natural_snapshot(conn) == before

        outcome = uuidpk.verify(conn, applied.run_id)
        assert outcome.ok, outcome.differences
        with pytest.raises(uuidpk.Refused, match="uuid"):
            uuidpk.plan(conn, selection)  # the key is uuid now: refused by name


def test_dry_run_changes_nothing_and_records_no_run(dsn: str) -> None:
    with uuidpk.connect(dsn) as conn:
        load_shop(conn, orders=20)
        conversion = uuidpk.plan(conn, uuidpk.Selection(tables=("order_order",)))
        applied = uuidpk.apply(conn, conversion, accept_risks=True, dry_run=True)
        assert applied.dry_run and applied.run_id is None and applied.timings
        assert _column_type(conn, "order_order", "id") == "integer"


def test_api_errors_are_uuidpk_errors_not_click(dsn: str) -> None:
    with uuidpk.connect(dsn) as conn:
        load_shop(conn, orders=5)
        with pytest.raises(uuidpk.UsageProblem):
            uuidpk.plan(conn, uuidpk.Selection())
        with pytest.raises(uuidpk.TableNotFound):
            uuidpk.plan(conn, uuidpk.Selection(tables=("no_such_table",)))
        with pytest.raises(uuidpk.UsageProblem):
            uuidpk.plan(conn, uuidpk.Selection(tables=("order_order",), soft_refs=("nodot",)))


def test_the_api_does_not_need_click() -> None:
    code = "import sys, uuidpk; uuidpk.Selection(); assert 'click' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_apply_refuses_unaccepted_risks_before_changing_anything(dsn: str) -> None:
    with uuidpk.connect(dsn) as conn:
        load_shop(conn, orders=5)
        conn.execute(
            "CREATE FUNCTION order_total(order_id integer) RETURNS numeric LANGUAGE sql"
            " AS 'SELECT sum(quantity * unit_price) FROM order_orderline"
            " WHERE order_id = $1'"
        )
        conversion = uuidpk.plan(conn, uuidpk.Selection(tables=("order_order",)))
        assert any(r.what == "function" for r in conversion.risks)
        with pytest.raises(uuidpk.Refused, match="accept"):
            uuidpk.apply(conn, conversion)
        assert _column_type(conn, "order_order", "id") == "integer"

"""Issue 10: the online conversion. Same result as offline; the application keeps writing;
a client killed at any moment resumes to the same end; abort before cutover undoes it all."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pgutil
import psycopg
import pytest
from checks import (
    HOSTILE_SQL,
    REPO,
    assert_clean_failure,
    assert_ok,
    clone,
    connect,
    data_hashes,
    read_rows,
    schema_facts,
    schema_record,
    shop_copy,
    shop_template,
    uuidpk,
)
from psycopg import sql

import uuidpk as uuidpk_api
from uuidpk import Options, Selection, derive_uuid
from uuidpk.advisory import LOCK_CLASS, MIGRATION_LOCK, Busy
from uuidpk.errors import MigrationFailed, Refused
from uuidpk.online import Settings, abort, status
from uuidpk.ops import Phase
from uuidpk.planning.shadows import fit_name, rename_columns

KEY = bytes(range(1, 33))
SHOP = ["order_order"]


def run_online(dsn: str, tables: list[str] = SHOP, **settings: Any) -> Any:
    with connect(dsn) as conn:
        return uuidpk_api.apply_online(
            conn, Selection(tuple(tables)), Options(key=KEY), Settings(**settings)
        )


def rows_by_value(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every table's rows as sorted JSON objects: equal whatever the column order."""
    rows = read_rows(conn)
    return {
        f"{schema}.{table}": sorted(json.dumps(r, sort_keys=True, default=str) for r in found)
        for (schema, table), found in rows.tables.items()
    }


def facts_by_name(conn: psycopg.Connection) -> dict[Any, Any]:
    """The schema facts without column positions: the online swap appends the new column (it
    is added, not rewritten in place), so `SELECT *` lists it last."""
    facts = schema_facts(conn)
    return {k: {p: v for p, v in props.items() if p != "num"} for k, props in facts.items()}


def leftovers(conn: psycopg.Connection) -> list[Any]:
    """Anything an online migration may leave behind: INVALID indexes, its triggers, functions,
    key table, columns or constraints with its suffix."""
    return conn.execute(
        """SELECT 'invalid index', indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid
           UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE tgname LIKE 'uuidpk%%'
           UNION ALL SELECT 'function', p.oid::regprocedure::text FROM pg_proc p
                      JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'uuidpk'
           UNION ALL SELECT 'key', 'uuidpk.online_key' WHERE to_regclass('uuidpk.online_key')
                      IS NOT NULL
           UNION ALL SELECT 'column', attrelid::regclass || '.' || attname FROM pg_attribute
                      WHERE attname LIKE '%%uuidpk%%' AND NOT attisdropped
           UNION ALL SELECT 'constraint', conname FROM pg_constraint WHERE conname LIKE '%%uuidpk%%'
           UNION ALL SELECT 'relation', relname FROM pg_class
                      WHERE relname LIKE '%%uuidpk%%' AND relnamespace <> 'uuidpk'::regnamespace"""
    ).fetchall()


@pytest.fixture(scope="module")
def reference(pg: pgutil.PgCluster) -> Iterator[tuple[dict[Any, Any], dict[str, list[str]]]]:
    """The shop at 200 orders after an uninterrupted online run: what every resumed run must
    end as, exactly."""
    name, dsn = clone(pg, shop_template(pg, 200), hint="online_ref")
    try:
        assert run_online(dsn).finished
        with connect(dsn) as conn:
            yield schema_facts(conn), rows_by_value(conn)
    finally:
        pg.drop_database(name)


# -- the end state ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [(), ("--uuid", "v7"), ("--keep-old-id",), ("--all",)],
    ids=["v8", "v7", "keep-old-id", "all"],
)
def test_online_ends_exactly_as_offline_with_the_same_key(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    online, offline = shop_copy(pg, request), shop_copy(pg, request)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    which = list(extra) if extra == ("--all",) else ["--table", "order_order", *extra]
    common = [*which, "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    done = assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    assert "the cutover held its locks" in done.err
    with connect(online) as a, connect(offline) as b:
        assert facts_by_name(a) == facts_by_name(b)
        assert rows_by_value(a) == rows_by_value(b)
        assert leftovers(a) == []
        # What verify holds each to: the same (columns named, not numbered).
        assert schema_record(a) == schema_record(b)
        types = a.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'order_order'::regclass AND attnum > 0 AND NOT attisdropped"
        ).fetchall()
        assert ("id", "uuid") in types and ("original_id", "uuid") in types


def test_online_values_are_the_python_derivation(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    with connect(dsn) as conn:
        before = dict(conn.execute("SELECT number, id FROM order_order").fetchall())
    run_online(dsn)
    with connect(dsn) as conn:
        after = dict(conn.execute("SELECT number, id FROM order_order").fetchall())
    assert after == {n: derive_uuid(KEY, "public.order_order", i) for n, i in before.items()}


def test_new_rows_get_uuids_after_cutover_and_relations_hold(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    run_online(dsn)
    with connect(dsn) as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO order_order (number, created_at, status, total) "
            "VALUES ('NEW-1', now(), 'new', 1) RETURNING id"
        ).fetchone()
        assert row is not None and isinstance(row[0], uuid.UUID)
        conn.execute(
            "INSERT INTO order_orderline (order_id, sku, quantity, unit_price) "
            "VALUES (%s, 'X', 1, 1)",
            [row[0]],
        )
    with connect(dsn) as conn:
        conn.execute("DELETE FROM order_order WHERE number = 'NEW-1'")  # ON DELETE CASCADE
        lines = conn.execute("SELECT count(*) FROM order_orderline WHERE sku = 'X'").fetchone()
        assert lines == (0,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO order_orderline (order_id, sku, quantity, unit_price) "
                "VALUES (gen_random_uuid(), 'Y', 1, 1)"
            )


# -- the application keeps writing ----------------------------------------------------------------


class Writer(threading.Thread):
    """An application: each transaction inserts an order, a line with the id INSERT ... RETURNING
    gave, updates another order, and every third one moves the previous line to the new order
    (an UPDATE of a foreign key column, which the fill trigger must follow). Like any
    application across a key type change it keeps no server-side prepared statements
    (prepare_threshold=None): their result type changes at the cutover."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop = threading.Event()
        self.lines: dict[str, str] = {}  # sku -> order number, as committed
        self.failures: list[str] = []
        self.longest = 0.0

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                number, sku = f"W-{n:06d}", f"WSKU-{n}"
                moved = f"WSKU-{n - 1}" if n % 3 == 0 and f"WSKU-{n - 1}" in self.lines else None
                began = time.perf_counter()
                try:
                    with conn.transaction():
                        row = conn.execute(
                            "INSERT INTO order_order (number, created_at, status, total) "
                            "VALUES (%s, now(), 'new', 1) RETURNING id",
                            [number],
                        ).fetchone()
                        assert row is not None
                        conn.execute(
                            "INSERT INTO order_orderline (order_id, sku, quantity, unit_price) "
                            "VALUES (%s, %s, 1, 1)",
                            [row[0], sku],
                        )
                        conn.execute(
                            "UPDATE order_order SET status = 'seen' WHERE number = "
                            "(SELECT min(number) FROM order_order WHERE status = 'new')"
                        )
                        if moved:
                            conn.execute(
                                "UPDATE order_orderline SET order_id = %s WHERE sku = %s",
                                [row[0], moved],
                            )
                    self.lines[sku] = number
                    if moved:
                        self.lines[moved] = number
                except psycopg.Error as exc:
                    self.failures.append(f"{number}: {exc}")
                self.longest = max(self.longest, time.perf_counter() - began)
                time.sleep(0.002)


def test_concurrent_writer_loses_nothing(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, 2000)
    writer = Writer(dsn)
    writer.start()
    try:
        time.sleep(0.3)
        outcome = run_online(dsn, batch_size=500)
        time.sleep(0.3)
    finally:
        writer.stop.set()
        writer.join(10)
    assert outcome.finished
    assert writer.failures == []
    assert len(writer.lines) > 20
    with connect(dsn) as conn:
        found = dict(
            conn.execute(
                "SELECT l.sku, o.number FROM order_orderline l "
                "JOIN order_order o ON o.id = l.order_id WHERE l.sku LIKE 'WSKU-%%'"
            ).fetchall()
        )
        assert found == writer.lines
        assert leftovers(conn) == []
        orphans = conn.execute(
            "SELECT count(*) FROM order_orderline l "
            "WHERE NOT EXISTS (SELECT 1 FROM order_order o WHERE o.id = l.order_id)"
        ).fetchone()
        assert orphans == (0,)


# -- resume after kill -9 -------------------------------------------------------------------------

CHILD = """
import json, os, signal, sys
import psycopg
from uuidpk import Options, OnlineSettings, Selection, apply_online
args = json.loads(sys.argv[1])
key = bytes.fromhex(args["key"])
seen = {"batch": 0}
def progress(event):
    if event.kind == "batch":
        seen["batch"] += 1
    if event.kind == args["kind"] and event.step == args["step"] and (
        event.kind != "batch" or seen["batch"] >= args["batches"]
    ):
        os.kill(os.getpid(), signal.SIGKILL)
with psycopg.connect(args["dsn"], autocommit=True, application_name="uuidpk-child") as conn:
    apply_online(
        conn,
        Selection(("order_order",)),
        Options(key=key),
        OnlineSettings(batch_size=args["batch_size"], progress=progress),
    )
"""


def child(dsn: str, kind: str, step: str, batches: int = 0, batch_size: int | None = None) -> Any:
    args = {
        "dsn": dsn,
        "key": KEY.hex(),
        "kind": kind,
        "step": step,
        "batches": batches,
        "batch_size": batch_size,
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_child_sessions(dsn: str) -> None:
    """A killed client's backend ends (and frees the migration lock) once it sees the EOF."""
    with connect(dsn) as conn:
        for _ in range(200):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'uuidpk-child'"
            ).fetchone()
            if row == (0,):
                return
            time.sleep(0.05)
    raise AssertionError("the killed client's session did not end")


@pytest.mark.parametrize(
    ("kind", "step", "batches"),
    [
        ("done", "expand:key", 0),
        ("done", "expand:public.order_orderline", 0),
        ("batch", "backfill:public.order_orderline", 3),
        ("done", "backfill:public.payment_payment", 0),
        ("done", "index:public.order_order_pkey_uuidpk", 0),
        ("step", "validate:public.order_orderline.order_orderline_order_id_uuidpk_nn", 0),
        ("done", "vacuum", 0),
        ("done", "prove", 0),
        ("done", "cutover", 0),
        ("done", "contract:public.invoice_invoice", 0),
    ],
)
def test_kill_9_then_the_same_command_ends_as_an_uninterrupted_run(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
    kind: str,
    step: str,
    batches: int,
) -> None:
    dsn = shop_copy(pg, request)
    proc = child(dsn, kind, step, batches, batch_size=50)
    proc.wait(120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    wait_for_child_sessions(dsn)
    with connect(dsn) as conn:
        left = status(conn)
        assert left is not None and left.state == "running"
    outcome = run_online(dsn)
    assert outcome.finished
    facts, rows = reference
    with connect(dsn) as conn:
        assert schema_facts(conn) == facts
        assert rows_by_value(conn) == rows
        assert leftovers(conn) == []


def test_kill_9_in_the_middle_of_a_batch(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    """The batch's UPDATE is waiting on an application's row lock when the client dies: the
    batch and its bookkeeping roll back together."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.EXPAND)
    with connect(dsn) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("UPDATE order_orderline SET quantity = quantity WHERE id = 400")
        proc = child(dsn, "never", "", batch_size=50)
        with connect(dsn) as watch:
            for _ in range(400):
                row = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'uuidpk-child' AND wait_event_type = 'Lock' AND query LIKE 'WITH batch%%'"
                ).fetchone()
                if row and row[0]:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the batch never waited on the row lock")
            done = watch.execute(
                "SELECT rows_done FROM uuidpk.online_backfill "
                "WHERE step_id = 'backfill:public.order_orderline'"
            ).fetchone()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        blocker.execute("COMMIT")
    wait_for_child_sessions(dsn)
    with connect(dsn) as conn:
        again = conn.execute(
            "SELECT rows_done FROM uuidpk.online_backfill "
            "WHERE step_id = 'backfill:public.order_orderline'"
        ).fetchone()
        assert again == done  # the killed batch left no bookkeeping
    assert run_online(dsn).finished
    facts, rows = reference
    with connect(dsn) as conn:
        assert schema_facts(conn) == facts
        assert rows_by_value(conn) == rows


def test_an_interrupted_concurrent_index_build_is_rebuilt(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    """CREATE INDEX CONCURRENTLY waits for the writers of its table; killed there (the server
    ends the build when the connection is gone), it leaves an INVALID index behind."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.BACKFILL)
    with connect(dsn) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("UPDATE order_order SET status = status WHERE id = 1")
        proc = child(dsn, "never", "")
        with connect(dsn) as watch:
            for _ in range(400):
                row = watch.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'uuidpk-child' "
                    "AND query LIKE 'CREATE %%INDEX CONCURRENTLY%%' "
                    "AND wait_event_type = 'Lock'"
                ).fetchone()
                if row:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the index build never waited")
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            watch.execute("SELECT pg_terminate_backend(%s)", [row[0]])
        blocker.execute("COMMIT")
    wait_for_child_sessions(dsn)
    with connect(dsn) as conn:
        invalid = conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()
        assert invalid == (1,)
    assert run_online(dsn).finished
    facts, rows = reference
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        assert schema_facts(conn) == facts
        assert rows_by_value(conn) == rows


# -- until, status, abort, one at a time ----------------------------------------------------------


def test_until_stops_after_a_phase_and_the_same_command_continues(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    dsn = shop_copy(pg, request)
    outcome = run_online(dsn, until=Phase.PREPARE)
    assert not outcome.finished and outcome.stopped_after is Phase.PREPARE
    with connect(dsn) as conn:
        state = status(conn)
        assert state is not None
        assert (state.phase, state.next_step) == (Phase.CUTOVER, "prove")
        assert all(b.done and b.rows_done == b.rows_total for b in state.backfills)
        types = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'order_order'::regclass AND attname = 'id'"
            ).fetchall()
        )
        assert types == {"id": "integer"}  # the application sees no change yet
    assert run_online(dsn).finished
    with connect(dsn) as conn:
        assert schema_facts(conn) == reference[0]


@pytest.mark.parametrize("until", [Phase.EXPAND, Phase.BACKFILL, Phase.PREPARE])
def test_abort_before_cutover_leaves_the_database_as_it_was(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, until: Phase
) -> None:
    dsn = shop_copy(pg, request)
    with connect(dsn) as conn:
        facts, data = schema_facts(conn), data_hashes(conn)
    run_online(dsn, until=until)
    with connect(dsn) as conn:
        assert schema_facts(conn) != facts
        abort(conn)
        assert schema_facts(conn) == facts
        assert data_hashes(conn) == data
        assert leftovers(conn) == []
        state = status(conn)
        assert state is not None and state.state == "aborted"
    # A fresh start after an abort works.
    assert run_online(dsn).finished


def test_abort_after_cutover_says_what_it_would_take(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.CUTOVER)
    with connect(dsn) as conn, pytest.raises(Refused, match="cutover is done"):
        abort(conn)


def test_one_migration_at_a_time(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> None:
    dsn = shop_copy(pg, request)
    with connect(dsn) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, MIGRATION_LOCK])
        with pytest.raises(Busy, match="another uuidpk migration"):
            run_online(dsn)


def test_a_running_migration_of_other_tables_is_named(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.EXPAND)
    with connect(dsn) as conn, pytest.raises(Refused, match=r"public\.order_order is in progress"):
        uuidpk_api.apply_online(conn, Selection(("giftcard_giftcard",)))


# -- the key ------------------------------------------------------------------------------------


def test_the_application_role_writes_through_the_triggers_but_cannot_read_the_key(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    role = f"app_{uuid.uuid4().hex[:8]}"
    with connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        request.addfinalizer(lambda: _drop_role(pg, [dsn], role))
        conn.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {0}; "
                "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {0}"
            ).format(sql.Identifier(role))
        )
    run_online(dsn, until=Phase.BACKFILL)
    app_dsn = psycopg.conninfo.make_conninfo(dsn, user=role)
    with connect(app_dsn) as app:
        row = app.execute(
            "INSERT INTO order_order (number, created_at, status, total) "
            "VALUES ('APP-1', now(), 'new', 1) RETURNING id"
        ).fetchone()
        assert row is not None
        app.execute("UPDATE order_order SET original_id = %s WHERE number = 'APP-1'", [row[0]])
        for attempt in (
            "SELECT key FROM uuidpk.online_key",
            "SELECT uuidpk.online_uuid('public.order_order', 1::bigint)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(attempt)
        sources = app.execute("SELECT string_agg(prosrc, ' ') FROM pg_proc").fetchone()
        assert sources is not None and KEY.hex() not in sources[0]
    with connect(dsn) as conn:
        shadows = conn.execute(
            "SELECT id, id_uuidpk, original_id_uuidpk FROM order_order WHERE number = 'APP-1'"
        ).fetchone()
        assert shadows is not None
        expected = derive_uuid(KEY, "public.order_order", shadows[0])
        assert shadows[1:] == (expected, expected)
        # The journal stores statements, never the key.
        stored = conn.execute(
            "SELECT string_agg(spec::text, ' ') FROM uuidpk.online_step"
        ).fetchone()
        assert stored is not None and KEY.hex() not in stored[0]


def _drop_role(pg: pgutil.PgCluster, dsns: list[str], role: str) -> None:
    for dsn in dsns:
        with connect(dsn) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(pg.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


# -- pure parts ---------------------------------------------------------------------------------


def test_fit_name_shortens_and_avoids_taken_names() -> None:
    taken = {"id_uuidpk"}
    assert fit_name("original_id_uuidpk", taken, "t.original_id") == "original_id_uuidpk"
    other = fit_name("id_uuidpk", taken, "t.id")
    assert other != "id_uuidpk" and other.startswith("id_uuidpk_")
    long = fit_name("x" * 70, set(), "seed")
    assert len(long.encode()) <= 63
    assert fit_name("é" * 40, set(), "s").encode().decode()  # never cuts a character in two


# -- the command line -----------------------------------------------------------------------------


def test_apply_online_on_the_command_line_stops_and_continues(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dsn = shop_copy(pg, request)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    args = ["apply", "--dsn", dsn, "--table", "order_order", "--online", "--yes"]
    first = assert_ok(uuidpk(*args, "--key-file", str(key_file), "--until", "backfill"))
    assert "stopped after backfill" in first.err
    assert "backfill public.order_orderline: " in first.err  # per-table rows, rate
    second = assert_ok(uuidpk(*args, "--key-file", str(key_file), "--batch-size", "100"))
    assert "online conversion 1 done; the cutover held its locks" in second.err
    # As after an offline apply: the key is uuid now.
    assert "already uuid" in assert_clean_failure(uuidpk(*args))
    with connect(dsn) as conn:
        assert leftovers(conn) == []


def test_status_and_abort_on_the_command_line(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    none = assert_ok(uuidpk("status", "--dsn", dsn))
    assert "no online conversion has run" in none.err
    with connect(dsn) as conn:
        before = schema_facts(conn)
    args = ["apply", "--dsn", dsn, "--table", "order_order", "--online", "--yes"]
    assert_ok(uuidpk(*args, "--until", "backfill"))
    shown = assert_ok(uuidpk("status", "--dsn", dsn)).out.splitlines()
    assert shown[0].startswith("online conversion 1: running, phase prepare"), shown
    assert any("order_orderline" in line and "done" in line for line in shown[1:]), shown
    document = json.loads(assert_ok(uuidpk("status", "--dsn", dsn, "--format", "json")).out)
    assert document["state"] == "running" and document["phase"] == "prepare"
    assert all(t["done"] and t["rows_done"] == t["rows_total"] for t in document["backfills"])

    assert "aborted" in assert_ok(uuidpk("abort", "--dsn", dsn, "--yes")).err
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        assert schema_facts(conn) == before
    after = json.loads(assert_ok(uuidpk("status", "--dsn", dsn, "--format", "json")).out)
    assert after["state"] == "aborted"
    nothing = uuidpk("abort", "--dsn", dsn, "--yes")
    assert "no online migration is in progress" in assert_clean_failure(nothing)


def test_online_only_flags_need_online(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    outcome = uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--until", "prepare")
    assert "need --online" in assert_clean_failure(outcome, 2)
    outcome = uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--online", "--dry-run")
    assert "cannot be combined" in assert_clean_failure(outcome, 2)


# -- the corpora -----------------------------------------------------------------------------


@pytest.mark.parametrize("corpus", pgutil.CORPUS_NAMES)
def test_online_all_ends_as_offline_all_on_every_corpus(
    corpus_dsn_factory: Any, corpus: str, tmp_path: Path
) -> None:
    online, offline = corpus_dsn_factory(corpus), corpus_dsn_factory(corpus)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    common = ["--all", "--yes", "--accept-risks", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    with connect(online) as a, connect(offline) as b:
        assert leftovers(a) == []
        assert facts_by_name(a) == facts_by_name(b)
        assert rows_by_value(a) == rows_by_value(b)
        assert schema_record(a) == schema_record(b)


def test_rename_columns_touches_only_column_references() -> None:
    renames = {"parent_id": "parent_id_uuidpk", "Odd Name": "odd"}
    assert rename_columns("(parent_id IS NULL)", renames) == '("parent_id_uuidpk" IS NULL)'
    kept = "((kind = 'parent_id'::text) AND t.parent_id AND parent_id(1) AND x::parent_id)"
    assert rename_columns(kept, renames) == kept
    assert rename_columns('("Odd Name" > 0)', renames) == '("odd" > 0)'


def test_online_on_hostile_names_ends_as_offline(
    pg: pgutil.PgCluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    databases = []
    for _ in range(2):
        name, dsn = pg.create_database(pgutil.unique_name("online_hostile"))
        request.addfinalizer(lambda name=name: pg.drop_database(name))
        with connect(dsn) as conn:
            conn.execute(HOSTILE_SQL)
        databases.append(dsn)
    online, offline = databases
    common = ["--all", "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    with connect(online) as a, connect(offline) as b:
        assert leftovers(a) == []
        assert facts_by_name(a) == facts_by_name(b)
        assert rows_by_value(a) == rows_by_value(b)
        assert schema_record(a) == schema_record(b)


def test_cutover_gives_up_after_its_timeout_and_changes_nothing(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    """A long transaction reading a closure table: the cutover retries short lock timeouts
    (never queueing long in front of the application's readers), then gives up in one line."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.PREPARE)
    with connect(dsn) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM payment_payment")
        events: list[Any] = []
        began = time.monotonic()
        with pytest.raises(MigrationFailed, match="could not take its locks in 1 s"):
            run_online(dsn, cutover_timeout=1.0, progress=events.append)
        assert time.monotonic() - began < 10
        assert sum(e.kind == "retry" and e.step == "cutover" for e in events) >= 2
        with connect(dsn) as other:
            # Readers were never stuck behind the cutover for long: it is not waiting now.
            row = other.execute("SELECT count(*) FROM order_order").fetchone()
            assert row is not None
            state = status(other)
            assert state is not None and state.next_step == "cutover"
        reader.execute("COMMIT")
    assert run_online(dsn).finished
    with connect(dsn) as conn:
        assert schema_facts(conn) == reference[0]
        assert rows_by_value(conn) == reference[1]


def test_cutover_proves_not_null_without_scanning(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    """SET NOT NULL under the cutover's lock must use the validated CHECK, not scan the table
    (PostgreSQL says which at DEBUG1)."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.PREPARE)
    messages: list[str] = []
    with connect(dsn) as conn:
        conn.add_notice_handler(lambda d: messages.append(d.message_primary or ""))
        conn.execute("SET client_min_messages = debug1")
        uuidpk_api.apply_online(
            conn, Selection(("order_order",)), Options(key=KEY), Settings(until=Phase.CUTOVER)
        )
    proven = [m for m in messages if "are sufficient to prove" in m]
    scans = [m for m in messages if m.startswith("verifying table")]
    assert len(proven) == 5 and scans == [], messages


def test_offline_plans_are_refused_while_an_online_conversion_runs(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.BACKFILL)
    for command in (["apply", "--yes"], ["generate"]):
        outcome = uuidpk(*command, "--dsn", dsn, "--table", "giftcard_giftcard")
        line = assert_clean_failure(outcome)
        assert "an online conversion of public.order_order is under way" in line


def test_kill_9_inside_the_cutover_transaction(
    pg: pgutil.PgCluster,
    request: pytest.FixtureRequest,
    reference: tuple[dict[Any, Any], dict[str, list[str]]],
) -> None:
    """Killed while the cutover's transaction waits for its locks: the server rolls it back,
    nothing of it happened, and the same command does it again."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.PREPARE)
    with connect(dsn) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM payment_payment")
        proc = child(dsn, "never", "")
        with connect(dsn) as watch:
            for _ in range(600):
                row = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'uuidpk-child' AND state = 'active' AND query LIKE 'LOCK TABLE%%'"
                ).fetchone()
                if row and row[0]:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError("the cutover never waited for its locks")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        reader.execute("COMMIT")
    wait_for_child_sessions(dsn)
    with connect(dsn) as conn:
        state = status(conn)
        assert state is not None and state.next_step == "cutover"
    assert run_online(dsn).finished
    facts, rows = reference
    with connect(dsn) as conn:
        assert schema_facts(conn) == facts
        assert rows_by_value(conn) == rows
        assert leftovers(conn) == []


def test_rows_written_in_replica_mode_get_their_shadows(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    """A logical replication subscriber applies rows with session_replication_role = replica,
    where ordinary triggers do not fire; the fill trigger is ENABLE ALWAYS."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.EXPAND)
    with connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO order_order (id, number, created_at, status, total) "
            "VALUES (100000, 'REPL-1', now(), 'new', 1)"
        )
        row = conn.execute("SELECT id_uuidpk FROM order_order WHERE id = 100000").fetchone()
        assert row == (derive_uuid(KEY, "public.order_order", 100000),)


def test_column_privileges_on_converted_columns_survive(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    online, offline = shop_copy(pg, request), shop_copy(pg, request)
    role = f"col_{uuid.uuid4().hex[:8]}"
    with connect(online) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    request.addfinalizer(lambda: _drop_role(pg, [online, offline], role))
    for dsn in (online, offline):
        with connect(dsn) as conn:
            conn.execute(
                sql.SQL(
                    "GRANT SELECT (id, number), UPDATE (original_id) ON order_order TO {0};"
                    "GRANT REFERENCES (order_id) ON payment_payment TO {0} WITH GRANT OPTION"
                ).format(sql.Identifier(role))
            )
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    common = ["--table", "order_order", "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    with connect(online) as a, connect(offline) as b:
        assert facts_by_name(a) == facts_by_name(b)


def test_unique_nulls_not_distinct_and_partial_indexes_end_as_offline(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Twins keep NULLS NOT DISTINCT (PostgreSQL 15+), DESC ordering, INCLUDE columns and a
    predicate naming a converted column."""
    if pg.version < 150000:
        pytest.skip("NULLS NOT DISTINCT needs PostgreSQL 15")
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    databases = []
    for _ in range(2):
        dsn = shop_copy(pg, request)
        with connect(dsn) as conn:
            conn.execute(
                "CREATE UNIQUE INDEX pay_once ON payment_payment (order_id, reference)"
                " NULLS NOT DISTINCT;"
                "CREATE INDEX late_orders ON order_order (original_id DESC NULLS LAST)"
                " INCLUDE (status) WHERE original_id IS NOT NULL"
            )
        databases.append(dsn)
    online, offline = databases
    common = ["--table", "order_order", "--yes", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", offline, *common))
    assert_ok(uuidpk("apply", "--dsn", online, "--online", *common))
    with connect(online) as a, connect(offline) as b:
        assert leftovers(a) == []
        assert facts_by_name(a) == facts_by_name(b)
        definition = a.execute("SELECT pg_get_indexdef('pay_once'::regclass)").fetchone()
        assert definition is not None and "NULLS NOT DISTINCT" in definition[0]


def test_the_cutover_is_one_message_to_the_server(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest
) -> None:
    """The cutover's statements go as one simple-query message: its locks are held for the
    server's work, not for a round trip per statement (seen while it waits for its locks: the
    query pg_stat_activity shows is the whole cutover, LOCK TABLE first)."""
    dsn = shop_copy(pg, request)
    run_online(dsn, until=Phase.PREPARE)
    seen: list[str] = []
    with connect(dsn) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM payment_payment")
        runner = threading.Thread(target=lambda: run_online(dsn), daemon=True)
        runner.start()
        with connect(dsn) as watch:
            for _ in range(500):
                row = watch.execute(
                    "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'LOCK TABLE%%'"
                ).fetchone()
                if row:
                    seen.append(row[0])
                    break
                time.sleep(0.01)
        reader.execute("COMMIT")
    runner.join(60)
    assert seen, "the cutover never waited for its locks"
    # (pg_stat_activity keeps the first track_activity_query_size bytes of it)
    assert seen[0].count("\n;\n") >= 5 and "DROP CONSTRAINT" in seen[0], seen[0]
    with connect(dsn) as conn:
        state = status(conn)
        assert state is not None and state.state == "done"

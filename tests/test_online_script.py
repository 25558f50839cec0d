"""Issue 10: `generate --online`, the online phases as one psql script a DBA runs with psql -f.
The database it leaves equals what `apply --online` gives; nothing of the migration is left."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pgutil
import pytest
from checks import (
    HOSTILE_SQL,
    assert_ok,
    clone,
    connect,
    data_hashes,
    schema_facts,
    shop_copy,
    shop_template,
    uuidpk,
)
from test_lint import _squawk, needs_squawk
from test_online import (
    KEY,
    SHOP,
    Writer,
    facts_by_name,
    leftovers,
    rows_by_value,
    run_online,
)


def _script(dsn: str, tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "online.sql"
    out = assert_ok(uuidpk("generate", "--dsn", dsn, "--table", SHOP[0], "--online", *extra)).out
    path.write_text(out)
    return path


def test_the_script_ends_as_apply_online_with_a_kept_key(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    name, reference = clone(pg, shop_template(pg, 200), hint="online_script_ref")
    request.addfinalizer(lambda: pg.drop_database(name))
    assert run_online(reference).finished
    with connect(reference) as conn:
        want_facts, want_rows = facts_by_name(conn), rows_by_value(conn)

    dsn = shop_copy(pg, request)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    script = _script(dsn, tmp_path, "--key-file", str(key_file))
    text = script.read_text()
    assert KEY.hex() in text and "SECRET" in text.split("\\set ON_ERROR_STOP on")[0]
    assert "CREATE UNIQUE INDEX CONCURRENTLY" in text and "COMMIT;\n" in text
    pgutil.run_psql(dsn, script)
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        assert facts_by_name(conn) == want_facts
        assert rows_by_value(conn) == want_rows


def test_the_script_with_a_random_key_split_before_the_cutover(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    name, reference = clone(pg, shop_template(pg, 200), hint="online_script_ref2")
    request.addfinalizer(lambda: pg.drop_database(name))
    assert run_online(reference).finished
    with connect(reference) as conn:
        want_facts = facts_by_name(conn)

    dsn = shop_copy(pg, request)
    text = _script(dsn, tmp_path).read_text()
    head, body = text.split("\\set ON_ERROR_STOP on\n", 1)
    assert "INSERT INTO uuidpk.online_key (key) VALUES" not in text  # made in the server
    # A DBA times the cutover with a deploy: everything up to it now, the rest later.
    before, after = body.split("-- ======== phase cutover", 1)
    first, second = tmp_path / "first.sql", tmp_path / "second.sql"
    first.write_text(head + "\\set ON_ERROR_STOP on\n" + before)
    second.write_text(head + "\\set ON_ERROR_STOP on\n-- phase cutover" + after)
    pgutil.run_psql(dsn, first)
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE id_uuidpk IS NULL), pg_typeof(min(id))::text "
            "FROM order_order"
        ).fetchone()
        assert row == (0, "integer") or row == (0, "bigint")
    pgutil.run_psql(dsn, second)
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        assert facts_by_name(conn) == want_facts


@needs_squawk
def test_squawk_passes_an_online_script(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dsn = shop_copy(pg, request)
    text = _script(dsn, tmp_path).read_text()
    result = _squawk(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    bare = "\n".join(line for line in text.splitlines() if "squawk-ignore" not in line)
    assert _squawk(bare, tmp_path).returncode != 0  # the ignores are what quiets it


def test_the_script_on_hostile_names_ends_as_apply_online(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Names with quotes, dollars, newlines and comment markers: in comments, literals and the
    procedure's dollar-quoted body, none of them breaks the script out of its statements."""
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    databases = []
    for _ in range(2):
        name, dsn = pg.create_database(pgutil.unique_name("online_script_hostile"))
        request.addfinalizer(lambda name=name: pg.drop_database(name))
        with connect(dsn) as conn:
            conn.execute(HOSTILE_SQL)
        databases.append(dsn)
    scripted, applied = databases
    common = ["--all", "--key-file", str(key_file)]
    assert_ok(uuidpk("apply", "--dsn", applied, "--online", "--yes", *common))
    script = tmp_path / "hostile.sql"
    script.write_text(assert_ok(uuidpk("generate", "--dsn", scripted, "--online", *common)).out)
    pgutil.run_psql(scripted, script)
    with connect(scripted) as a, connect(applied) as b:
        assert leftovers(a) == []
        assert facts_by_name(a) == facts_by_name(b)
        assert rows_by_value(a) == rows_by_value(b)


def _split(text: str, marker: str) -> tuple[str, str]:
    """The script before a phase's marker and from it on, each with the header (psql stops at
    the first error in both)."""
    head, body = text.split("\\set ON_ERROR_STOP on\n", 1)
    before, after = body.split(marker, 1)
    head += "\\set ON_ERROR_STOP on\n"
    return head + before, head + marker + after


def test_the_cutover_retries_while_a_reader_holds_a_lock(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A reader's transaction holds ACCESS SHARE on a closure table for 1.5 s: the cutover's
    LOCK waits at most 200 ms at a time (never long in front of other readers), rolls back,
    and tries again until it has its locks; the script completes."""
    dsn = shop_copy(pg, request)
    first, second = _split(_script(dsn, tmp_path).read_text(), "-- ======== phase cutover")
    pgutil.run_psql(dsn, first)
    taken, waits = threading.Event(), []

    def reader() -> None:
        with connect(dsn) as conn, conn.transaction():
            conn.execute("SELECT count(*) FROM payment_payment")
            taken.set()
            time.sleep(1.5)

    def other_reader() -> None:
        # Queued behind a waiting ACCESS EXCLUSIVE request, a reader waits as long as it.
        with connect(dsn) as conn:
            for _ in range(10):
                began = time.perf_counter()
                conn.execute("SELECT count(*) FROM payment_payment")
                waits.append(time.perf_counter() - began)
                time.sleep(0.1)

    threads = [threading.Thread(target=reader), threading.Thread(target=other_reader)]
    threads[0].start()
    assert taken.wait(10)
    threads[1].start()
    began = time.perf_counter()
    pgutil.run_psql(dsn, _file(tmp_path, "second.sql", second))
    assert time.perf_counter() - began >= 1.0  # it did wait for the reader
    for thread in threads:
        thread.join(10)
    assert max(waits) < 1.0, waits
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        state = conn.execute(
            "SELECT state FROM uuidpk.online_migration ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert state == ("done",)


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_status_sees_a_stopped_script_and_abort_undoes_it(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    dsn = shop_copy(pg, request)
    with connect(dsn) as conn:
        facts, data = schema_facts(conn), data_hashes(conn)
    pgutil.run_psql(dsn, _script(dsn, tmp_path, "--until", "backfill"))
    shown = assert_ok(uuidpk("status", "--dsn", dsn)).out.splitlines()
    assert shown[0].startswith("online conversion 1: running, phase prepare"), shown
    assert any("order_orderline" in line and "done" in line for line in shown[1:]), shown
    with connect(dsn) as conn:
        assert schema_facts(conn) != facts
    assert "aborted" in assert_ok(uuidpk("abort", "--dsn", dsn, "--yes")).err
    with connect(dsn) as conn:
        assert schema_facts(conn) == facts
        assert data_hashes(conn) == data
        assert leftovers(conn) == []
    assert "aborted" in assert_ok(uuidpk("status", "--dsn", dsn)).out


def test_apply_online_continues_a_script_stopped_before_the_cutover(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    name, reference = clone(pg, shop_template(pg, 200), hint="online_script_ref3")
    request.addfinalizer(lambda: pg.drop_database(name))
    assert run_online(reference).finished
    with connect(reference) as conn:
        want_facts, want_rows = facts_by_name(conn), rows_by_value(conn)
    dsn = shop_copy(pg, request)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    pgutil.run_psql(dsn, _script(dsn, tmp_path, "--key-file", str(key_file), "--until", "prepare"))
    args = ["apply", "--dsn", dsn, "--table", SHOP[0], "--online", "--yes"]
    assert_ok(uuidpk(*args, "--key-file", str(key_file)))
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        assert facts_by_name(conn) == want_facts
        assert rows_by_value(conn) == want_rows


def test_the_backfill_sizes_its_batches_by_time_under_a_writer(
    pg: pgutil.PgCluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Batches start at 1,000 rows and grow while they take under ~100 ms; rows the writer
    adds meanwhile are filled by the trigger; the backfill reaches its end and the proof
    before the cutover holds."""
    dsn = shop_copy(pg, request, 5000)
    script = _script(dsn, tmp_path)
    writer = Writer(dsn)
    writer.start()
    try:
        time.sleep(0.2)
        pgutil.run_psql(dsn, script)
        time.sleep(0.2)
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.failures == []
    assert len(writer.lines) > 5
    with connect(dsn) as conn:
        assert leftovers(conn) == []
        batches = {
            step: (int(n), int(rows))
            for step, n, rows in conn.execute(
                "SELECT step_id, batches, rows_done FROM uuidpk.online_backfill"
            ).fetchall()
        }
        n, rows = batches["backfill:public.order_orderline"]
        assert rows >= 10000 and rows / n > 1000, batches  # fixed 1,000-row batches: 1,000
        found = dict(
            conn.execute(
                "SELECT l.sku, o.number FROM order_orderline l "
                "JOIN order_order o ON o.id = l.order_id WHERE l.sku LIKE 'WSKU-%%'"
            ).fetchall()
        )
        assert found == writer.lines

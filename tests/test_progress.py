"""Progress and honest downtime: plain lines when stderr is not a terminal, JSON lines with
--log-format json, nothing but the essentials with --quiet, and the real lock time."""

from __future__ import annotations

import io
import json
import re

import pgutil
import psycopg
import pytest
from checks import assert_ok, shop_copy, uuidpk

from uuidpk.progress import Event, Live, Plain, ServerProgress, reporter


@pytest.fixture
def shop_dsn(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> str:
    return shop_copy(pg, request)


def test_plain_lines_when_not_a_terminal(shop_dsn: str) -> None:
    outcome = assert_ok(uuidpk("apply", "--dsn", shop_dsn, "--table", "order_order", "--yes"))
    lines = outcome.err_lines
    assert "\x1b" not in outcome.err and "\r" not in outcome.err
    assert any(re.match(r"uuidpk: \w[^(]* \(\d+ statements\)$", line) for line in lines), lines
    # Each table rewrite on its own line, with its size and how far the step got.
    rewrites = [line for line in lines if line.startswith("uuidpk:   public.")]
    assert any("public.order_order (" in line for line in rewrites), lines
    assert all(" of " in line and " done)" in line for line in rewrites), rewrites
    locked = [line for line in lines if "tables were locked" in line]
    assert len(locked) == 1 and "fingerprint and check included" in locked[0], lines
    assert lines[-1].startswith("uuidpk: converted 1 key(s)"), lines


def test_json_lines_parse(shop_dsn: str) -> None:
    outcome = assert_ok(
        uuidpk(
            "apply", "--dsn", shop_dsn, "--table", "order_order", "--yes", "--verify",
            "--log-format", "json",
        )
    )  # fmt: skip
    events = [json.loads(line) for line in outcome.err_lines]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done", kinds
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all(e["steps"] == events[0]["steps"] for e in steps)
    assert [e["index"] for e in steps] == list(range(1, len(steps) + 1))
    tables = [e for e in events if e["event"] == "table"]
    assert tables and all(e["bytes_total"] >= e["bytes"] > 0 for e in tables), tables
    (committed,) = [e for e in events if e["event"] == "committed"]
    done = events[-1]
    # The lock is held from the lock step to the commit: less than the whole apply, more
    # than the sum of the steps after the lock (fingerprint and check ran in between).
    after_lock = [e["seconds"] for e in events if e["event"] == "step_done"][1:]
    assert sum(after_lock) < committed["seconds"] <= done["seconds"]
    assert any("fingerprint run" in e.get("message", "") for e in events)
    assert any(e.get("message", "").startswith("verified") for e in events)


def test_json_lines_end_with_the_error(shop_dsn: str) -> None:
    # A failure inside the transaction (what the plan can tell beforehand is refused before
    # it starts): another session holds a closure table past --lock-timeout.
    args = ("--table", "order_order", "--yes", "--lock-timeout", "200ms", "--log-format", "json")
    with psycopg.connect(shop_dsn) as blocker:
        blocker.execute("LOCK TABLE order_orderline IN ACCESS SHARE MODE")
        outcome = uuidpk("apply", "--dsn", shop_dsn, *args)
        blocker.rollback()
    assert outcome.code == 1, outcome.describe()
    events = [json.loads(line) for line in outcome.err_lines]
    assert events[-1]["event"] == "error" and "nothing changed" in events[-1]["message"]
    assert events[-2]["event"] == "rolled_back"


def test_quiet_says_nothing_on_success(shop_dsn: str) -> None:
    outcome = uuidpk("apply", "--dsn", shop_dsn, "--table", "order_order", "--yes", "--quiet")
    assert assert_ok(outcome).err == ""


def test_a_terminal_gets_one_repainted_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    live = reporter("text", False, stream)
    assert isinstance(live, Live)
    live(Event("start", steps=2))
    live(Event("step", "convert columns", 2, 2, 3))
    live(Event("table", "convert columns", 2, 2, table="public.t", bytes=100, bytes_total=300))
    live(Event("step_done", "convert columns", 2, 2, 3, seconds=0.5))
    live.close()
    text = stream.getvalue()
    assert "\r\x1b[K" in text and "[2/2] convert columns (0.5 s)\n" in text
    assert isinstance(reporter("text", False, io.StringIO()), Plain)


def test_server_progress_reads_the_progress_views(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        watcher = ServerProgress(
            lambda: psycopg.connect(dsn, autocommit=True), conn.info.backend_pid
        )
        assert watcher.read() is None  # idle: PostgreSQL reports nothing
        watcher.close()

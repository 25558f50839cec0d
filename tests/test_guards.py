"""Checks made before anything changes, and exit codes a CI job can gate on: durations with
units, one migration at a time, inspect's and sequences' exit codes, `map` for v7 values."""

from __future__ import annotations

import subprocess
import time

import psycopg
import pytest
from checks import assert_clean_failure, assert_ok, clean_env, shop_copy, uuidpk, uuidpk_command

from uuidpk.durations import milliseconds, setting
from uuidpk.errors import UsageProblem


@pytest.mark.parametrize(
    ("text", "ms"),
    [("2", 2000), ("10s", 10_000), ("500ms", 500), ("1.5s", 1500), ("2min", 120_000), ("0", 0)],
)
def test_durations_take_units_and_a_bare_number_is_seconds(text: str, ms: int) -> None:
    assert milliseconds(text) == ms
    assert setting(text) == f"{ms}ms"


@pytest.mark.parametrize("text", ["-1s", "10 parsecs", "s", "", "1e3", "99999999s"])
def test_bad_durations_are_usage_problems(text: str) -> None:
    with pytest.raises(UsageProblem):
        milliseconds(text)


def _lock_timeout_seen(dsn: str, *args: str) -> str:
    script = assert_ok(uuidpk("generate", "--dsn", dsn, "--table", "order_order", *args)).out
    (line,) = [line for line in script.splitlines() if "lock_timeout" in line]
    return line


def test_lock_timeout_of_2_means_two_seconds_in_the_script(
    pg: object, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, orders=5)  # type: ignore[arg-type]
    assert "'2000ms'" in _lock_timeout_seen(dsn, "--lock-timeout", "2")
    outcome = uuidpk("generate", "--dsn", dsn, "--table", "order_order", "--lock-timeout", "2x")
    assert "--lock-timeout" in assert_clean_failure(outcome, code=2)


def test_a_second_apply_is_told_another_migration_holds_the_database(
    pg: object, request: pytest.FixtureRequest
) -> None:
    dsn = shop_copy(pg, request, orders=20)  # type: ignore[arg-type]
    with psycopg.connect(dsn) as blocker:
        # A long transaction holds a closure table: the first apply waits for its lock (with
        # the advisory lock already taken), the second must not plan from the same catalog.
        blocker.execute("LOCK TABLE order_orderline IN ACCESS SHARE MODE")
        first = subprocess.Popen(
            uuidpk_command(
                "apply", "--dsn", dsn, "--table", "order_order", "--yes", "--lock-timeout", "60s"
            ),
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            with psycopg.connect(dsn, autocommit=True) as watch:
                while time.monotonic() < deadline:
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'relation'"
                    ).fetchone()
                    if waiting and waiting[0]:
                        break
                    time.sleep(0.05)
                else:
                    pytest.fail("the first apply never queued for its lock")
            second = uuidpk("apply", "--dsn", dsn, "--table", "order_order", "--yes")
            line = assert_clean_failure(second)
            assert "another uuidpk migration is running" in line, line
        finally:
            blocker.rollback()
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "converted" in err


def test_inspect_exits_1_when_something_blocks(conn: psycopg.Connection, dsn: str) -> None:
    conn.execute("CREATE TABLE item (id integer PRIMARY KEY, name text)")
    clean = uuidpk("inspect", "--dsn", dsn, "--table", "item")
    assert clean.code == 0, clean.describe()
    # A view comparing the key with a number is a blocker: nothing would run.
    conn.execute("CREATE VIEW first_item AS SELECT * FROM item WHERE id = 1")
    blocked = uuidpk("inspect", "--dsn", dsn, "--table", "item")
    assert blocked.code == 1, blocked.describe()
    assert "first_item" in blocked.out and "blocker" in blocked.err_lines[-1]
    as_json = uuidpk("inspect", "--dsn", dsn, "--table", "item", "--format", "json")
    assert as_json.code == 1 and as_json.out.startswith("{")


@pytest.mark.parametrize("order_by", [None, "created_at"])
def test_map_gives_the_v7_values_apply_wrote(
    pg: object, request: pytest.FixtureRequest, tmp_path: object, order_by: str | None
) -> None:
    dsn = shop_copy(pg, request, orders=10)  # type: ignore[arg-type]
    key_file = f"{tmp_path}/key.hex"
    with open(key_file, "w") as f:
        f.write(assert_ok(uuidpk("keygen")).out)
    with psycopg.connect(dsn, autocommit=True) as conn:
        old = conn.execute("SELECT id, created_at, number FROM order_order ORDER BY id").fetchall()
        extra = ["--order-by", order_by] if order_by else []
        assert_ok(
            uuidpk(
                "apply",
                "--dsn",
                dsn,
                "--table",
                "order_order",
                "--yes",
                "--uuid",
                "v7",
                "--key-file",
                key_file,
                *extra,
            )
        )
        new = dict(conn.execute("SELECT number, id::text FROM order_order").fetchall())
    ids = [f"{i}@{at.isoformat()}" if order_by else str(i) for i, at, _ in old]
    mapped = assert_ok(
        uuidpk("map", "--key-file", key_file, "--uuid", "v7", "--table", "order_order", *ids)
    ).out.splitlines()
    assert [line.split("\t")[1] for line in mapped] == [new[number] for _, _, number in old]
    # Without --uuid v7 the same ids give other (version 8) values: the option matters.
    plain = (
        assert_ok(uuidpk("map", "--key-file", key_file, "--table", "order_order", str(old[0][0])))
        .out.split("\t")[1]
        .strip()
    )
    assert plain != new[old[0][2]]

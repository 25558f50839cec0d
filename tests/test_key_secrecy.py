"""The derivation key stays out of the server's log and pg_stat_activity: with log_statement=all
and errors logged with their statement and CONTEXT, after an apply with --key-file and after a
CREATE FUNCTION that fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pgutil
import psycopg
import pytest
from checks import assert_ok, uuidpk
from psycopg import sql

from uuidpk import derive_uuid

KEY = bytes.fromhex("5eC0dE" * 10 + "a1b2")
RANDOM_KEY = re.compile(r"\\x[0-9a-f]{64}")  # key_random_value.sql: 32 bytes as '\x<hex>'
ROLE = "uuidpk_key_secrecy"
SCHEMA = """
CREATE TABLE orders (id serial PRIMARY KEY, note text);
CREATE TABLE lines (id serial PRIMARY KEY, order_id int NOT NULL REFERENCES orders);
INSERT INTO orders (note) SELECT 'o' || i FROM generate_series(1, 20) i;
INSERT INTO lines (order_id) SELECT 1 + i % 20 FROM generate_series(1, 50) i;
"""


@pytest.fixture
def logged(pg: pgutil.PgCluster, dsn: str) -> Iterator[tuple[str, Path]]:
    """The test database with every statement logged, and errors with their statement (the
    server defaults the harness lowers for speed)."""
    if not pg.owned or pg.tmpdir is None:
        pytest.skip("needs the server the tests started (its log file)")
    name = pgutil.database_name(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        for setting, value in (("log_statement", "all"), ("log_min_error_statement", "error")):
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(setting), sql.Literal(value)
                )
            )
    yield dsn, pg.tmpdir / "server.log"


def _log_after(log: Path, offset: int) -> str:
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def test_apply_with_a_kept_key_logs_no_key(logged: tuple[str, Path], tmp_path: Path) -> None:
    dsn, log = logged
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    start = log.stat().st_size
    assert_ok(uuidpk("apply", "--dsn", dsn, "--all", "--key-file", str(key_file), "--yes"))
    written = _log_after(log, start)
    assert KEY.hex() not in written.lower()
    # Logging was on and saw the statement that hands the key over, with $1 in its text (what
    # pg_stat_activity shows too), and no parameter value.
    assert "set_config('uuidpk.key', $1, false)" in written, written[-3000:]
    after = written[written.index("set_config('uuidpk.key', $1, false)") :].splitlines()
    assert "parameters:" not in after[1], after[:2]  # log_parameter_max_length = 0


def _unprivileged(pg: pgutil.PgCluster, dsn: str) -> str:
    """dsn as a role that owns the tables but may not use LANGUAGE sql, so the derivation
    functions cannot be created. (A missing TEMPORARY privilege is refused before anything
    runs now: uuidpk/preflight.py; a language's USAGE is not checked there.)"""
    pg.ensure_role(ROLE, sql.SQL("LOGIN"))
    name = pgutil.database_name(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("REVOKE USAGE ON LANGUAGE sql FROM PUBLIC")
        conn.execute(  # the fingerprint's schema
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(ROLE)
            )
        )
        for table in ("orders", "lines"):
            conn.execute(
                sql.SQL("ALTER TABLE {} OWNER TO {}").format(*map(sql.Identifier, (table, ROLE)))
            )
    return pg.dsn(name) + f" user={ROLE}"


@pytest.mark.parametrize("kept", [False, True], ids=["random key", "kept key"])
def test_a_failed_key_function_logs_no_key(
    pg: pgutil.PgCluster, logged: tuple[str, Path], tmp_path: Path, kept: bool
) -> None:
    dsn, log = logged
    target = _unprivileged(pg, dsn)
    args = ["apply", "--dsn", target, "--all", "--yes"]
    if kept:
        key_file = tmp_path / "key.hex"
        key_file.write_text(KEY.hex())
        args += ["--key-file", str(key_file)]
        # A role that may not hide bound parameters has them logged by log_statement=all
        # (README); here only the error path is under test.
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET log_statement = 'none'").format(
                    sql.Identifier(pgutil.database_name(dsn))
                )
            )
    start = log.stat().st_size
    outcome = uuidpk(*args)
    assert outcome.code == 1 and outcome.exception is None, outcome.describe()
    assert "permission denied for language sql" in outcome.err_lines[-1], outcome.err
    assert not RANDOM_KEY.search(outcome.err) and KEY.hex() not in outcome.err
    written = _log_after(log, start)
    assert "permission denied for language sql" in written, written[-3000:]
    assert not RANDOM_KEY.search(written), written[-3000:]
    assert KEY.hex() not in written.lower()
    assert 'CONTEXT:  SQL statement "CREATE FUNCTION' not in written


def test_a_generated_script_says_it_holds_the_key_and_keeps_the_values(
    dsn: str, tmp_path: Path
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    script = assert_ok(uuidpk("generate", "--dsn", dsn, "--all", "--key-file", str(key_file))).out
    header = script.split("BEGIN;")[0]
    assert "contains the kept derivation key" in header and KEY.hex() not in header
    assert [line for line in script.splitlines() if KEY.hex() in line] == [
        f"SELECT FROM set_config('uuidpk.key', '{KEY.hex()}', false);"
    ]
    output = pgutil.run_psql(dsn, script)
    assert KEY.hex() not in output
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, note FROM orders").fetchall()
    assert {r[0] for r in rows} == {
        derive_uuid(KEY, "public.orders", int(note[1:])) for _, note in rows
    }

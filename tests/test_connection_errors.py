"""A failed connection says where and why in one line, and never any part of the password,
whatever shape the DSN has (URL or key=value, well formed or not)."""

from __future__ import annotations

import urllib.parse

import pgutil
import pytest
from checks import assert_clean_failure, uuidpk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uuidpk.safe_text import shorten_statement

SPECIALS = "@#?%/:'\" \\"


def shapes(port: int) -> dict[str, str]:
    return {
        "url, # in password, open bracket": "postgresql://u:hunter2#x@[::1",
        "url, bare %": f"postgresql://u:hunter2%@127.0.0.1:{port}/x",
        "url, second @": f"postgresql://u:hun@ter2@127.0.0.1:{port}/x",
        "url, / in password": f"postgresql://u:hun/ter2@127.0.0.1:{port}/x",
        "url, ? in password": f"postgresql://u:hun?ter2@127.0.0.1:{port}/x",
        "url, quote and space": f"postgresql://u:hun'ter2\" x@127.0.0.1:{port}/x",
        "url, password in the query": f"postgresql://127.0.0.1:{port}/x?password=hunter2",
        "url, bad port": "postgresql://u:hunter2@127.0.0.1:hunter2/x",
        "keywords, unquoted space": f"host=127.0.0.1 port={port} password=hun ter2",
        "keywords, quoted": f"host=127.0.0.1 port={port} password='hun ter2' dbname=x",
        "keywords, unterminated quote": f"host=127.0.0.1 port={port} password='hun ter2",
        "keywords, password first": f"password=hunter2 host=127.0.0.1 port={port} dbname",
    }


@pytest.mark.parametrize("shape", list(shapes(1)))
def test_no_part_of_the_password_is_printed(shape: str) -> None:
    target = shapes(pgutil.free_port())[shape]
    for outcome in (
        uuidpk("inspect", "--dsn", target, "--table", "t"),
        uuidpk("apply", "--table", "t", "--yes", env={"DATABASE_URL": target}),
    ):
        line = assert_clean_failure(outcome)
        assert line.startswith("uuidpk: error:"), line
        for piece in ("hunter2", "hunter", "ter2", "hun"):
            assert piece not in outcome.out + outcome.err, (shape, line)


def test_a_refused_connection_names_host_port_and_cause() -> None:
    port = pgutil.free_port()
    outcome = uuidpk("inspect", "--dsn", f"postgresql://u:pw@127.0.0.1:{port}/shop", "--all")
    line = assert_clean_failure(outcome)
    assert f"127.0.0.1:{port}" in line and "database shop" in line and "user u" in line
    assert "refused" in line.lower(), line
    assert "Is the server running" not in outcome.err


def test_a_missing_database_names_the_cause(pg: pgutil.PgCluster) -> None:
    outcome = uuidpk("inspect", "--dsn", pg.dsn("no_such_db") + " password=hunter2", "--all")
    line = assert_clean_failure(outcome)
    assert f"127.0.0.1:{pg.port}" in line and 'database "no_such_db" does not exist' in line
    assert "hunter2" not in outcome.err


password_text = st.builds(
    lambda a, b, c: f"{a}hunter{b}secret{c}",
    *(st.text(alphabet=SPECIALS + "ab", max_size=4) for _ in range(3)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(password=password_text, shape=st.sampled_from(["url", "url-encoded", "kw", "kw-quoted"]))
def test_random_passwords_never_reach_stderr(password: str, shape: str) -> None:
    port = pgutil.free_port()
    if shape == "url":
        target = f"postgresql://someone:{password}@127.0.0.1:{port}/x"
    elif shape == "url-encoded":
        encoded = urllib.parse.quote(password, safe="")
        target = f"postgresql://someone:{encoded}@127.0.0.1:{port}/x"
    elif shape == "kw":
        target = f"host=127.0.0.1 port={port} password={password} dbname=x"
    else:
        quoted = password.replace("\\", "\\\\").replace("'", "\\'")
        target = f"host=127.0.0.1 port={port} password='{quoted}' dbname=x"
    outcome = uuidpk("inspect", "--dsn", target, "--table", "t")
    assert_clean_failure(outcome)
    assert "hunter" not in outcome.err and "secret" not in outcome.err, (target, outcome.err)


def test_statements_are_cut_between_tokens() -> None:
    statement = 'ALTER TABLE "App"."Order ""x"" with a long name" ALTER COLUMN "select" TYPE uuid'
    assert shorten_statement(statement, 40) == "ALTER TABLE …"
    assert shorten_statement(statement, 50) == statement[: statement.index(" ALTER C")] + " …"
    assert shorten_statement("SELECT\n   1,\t'a  b'", 40) == "SELECT 1, 'a  b'"
    assert shorten_statement("x" * 50 + " y", 10) == "x" * 50 + " …"

"""Catalog names are attacker-chosen text: a role that may only create objects in its own schema
must not get SQL or shell commands run by whoever runs the generated script with psql, nor
repaint the terminal of whoever runs inspect."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pgutil
import psycopg
from checks import assert_ok, uuidpk
from hypothesis import given, settings
from hypothesis import strategies as st

from uuidpk.safe_text import for_comment, for_terminal, is_safe

# Every character that may end, hide or reorder a line.
UNSAFE = (
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029", "\u061c", "\u200e", "\u200f", "\u202e", "\u2066", "\u2069"]
)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def test_each_unsafe_character_becomes_a_visible_escape() -> None:
    for char in UNSAFE:
        escaped = for_terminal(f"a{char}b")
        assert escaped.startswith("a\\") and escaped.endswith("b"), repr(escaped)
        assert char not in escaped and is_safe(escaped)
    assert for_comment("x\n\\! id\r\x1b[2J\u2028") == "x\\n\\! id\\r\\x1b[2J\\u2028"
    assert for_terminal("\x85\x7f\t") == "\\x85\\x7f\\t"


def test_ordinary_names_pass_unchanged() -> None:
    for name in ['public."Order ""x"""', "LineItem → Order", "ünïcödé 表", "a\\b", "x;--y"]:
        assert for_terminal(name) == name and is_safe(name)


@given(st.text(alphabet=st.sampled_from(UNSAFE) | st.characters(), max_size=40))
def test_no_unsafe_character_survives(text: str) -> None:
    escaped = for_comment(text)
    assert is_safe(escaped)
    assert len(escaped.splitlines()) <= 1
    if is_safe(text):
        assert escaped == text


# -- a hostile schema, end to end --------------------------------------------------------------

SHELL = "\\! touch pwned"  # run by psql in its working directory when it reaches a line start
HOSTILE = f"""
CREATE TABLE canary (x int);
CREATE TABLE orders (id serial PRIMARY KEY, note text);
INSERT INTO orders (note) SELECT 'o' || i FROM generate_series(1, 5) i;
CREATE TABLE "l
{SHELL}
--" (
    id serial PRIMARY KEY,
    "c
DROP TABLE canary;
--" integer CONSTRAINT "k
{SHELL}
" REFERENCES orders (id)
);
INSERT INTO "l
{SHELL}
--" ("c
DROP TABLE canary;
--") SELECT id FROM orders;
CREATE VIEW "v
DROP TABLE canary;
--" AS SELECT id, note AS "n
{SHELL}" FROM orders;
CREATE FUNCTION "f
{SHELL}
--"(o orders) RETURNS text LANGUAGE sql AS $$ SELECT o.note $$;
CREATE FUNCTION "g
DROP TABLE canary;
--"(p integer) RETURNS text LANGUAGE sql AS $$ SELECT note FROM orders WHERE id = p $$;
CREATE FUNCTION "e\x1b[2J\r\u2028"(p integer) RETURNS text LANGUAGE sql
    AS $$ SELECT note FROM orders WHERE id = p $$;
"""


def _psql_file(dsn: str, script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(
        [pgutil.psql_binary(), "-X", "-d", dsn, "-f", str(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_generated_script_runs_no_injected_command(dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(HOSTILE)
    outcome = uuidpk("generate", "--dsn", dsn, "--table", "orders")
    assert_ok(outcome)
    assert "WARNING function" in outcome.out, outcome.out[:2000]
    script = tmp_path / "migrate.sql"
    script.write_text(outcome.out, encoding="utf-8")
    ran = _psql_file(dsn, script, tmp_path)
    assert not (tmp_path / "pwned").exists(), "psql ran a shell command from a catalog name"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('canary') IS NOT NULL").fetchone() == (True,)
        row = conn.execute(
            "SELECT format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = 'orders'::regclass AND attname = 'id'"
        ).fetchone()
        assert row == ("uuid",)
    assert not RAW_CONTROL.search(outcome.err), outcome.err
    assert ran.returncode == 0 and "ERROR" not in ran.stderr, ran.stderr
    header = outcome.out.split("BEGIN;")[0]
    assert not RAW_CONTROL.search(header) and "\\n\\! touch pwned" in header, header


def test_inspect_prints_no_raw_control_character(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(HOSTILE)
    text = assert_ok(uuidpk("inspect", "--dsn", dsn, "--table", "orders"))
    assert "\\n\\! touch pwned" in text.out, text.out
    for stream in (text.out, text.err):
        assert not RAW_CONTROL.search(stream)
        assert not any(line.startswith(("\\!", "DROP")) for line in stream.splitlines())
    document = json.loads(
        assert_ok(uuidpk("inspect", "--dsn", dsn, "--all", "--format", "json")).out
    )
    names = json.dumps(document, ensure_ascii=False)
    assert "l\\n\\\\! touch pwned" in names  # json keeps the name itself, escaped its own way


@settings(max_examples=15, deadline=None)
@given(char=st.sampled_from(UNSAFE[1:]))  # NUL cannot be in a name
def test_any_control_character_in_a_name_is_escaped(pg: pgutil.PgCluster, char: str) -> None:
    with pgutil.temporary_database(pg, "ctl") as (_, dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id serial PRIMARY KEY)")
            conn.execute(
                psycopg.sql.SQL(
                    "CREATE TABLE {} (id int PRIMARY KEY, o int CONSTRAINT {} REFERENCES orders)"
                ).format(psycopg.sql.Identifier(f"t{char}x"), psycopg.sql.Identifier(f"k{char}"))
            )
        outcome = assert_ok(uuidpk("inspect", "--dsn", dsn, "--table", "orders"))
        printed = outcome.out + outcome.err
        # Lines end with "\n": that one must show as the escape inside the name instead.
        assert char not in (printed.replace("\n", "") if char == "\n" else printed)
        assert for_terminal(f"t{char}x") in outcome.out


def test_apply_and_verify_print_no_raw_control_character(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(HOSTILE)
    applied = uuidpk("apply", "--dsn", dsn, "--all", "--yes", "--accept-risks", "--verify")
    assert applied.code == 0, applied.describe()
    assert "\\n\\! touch pwned" in applied.err  # the warnings name the functions, escaped
    verified = uuidpk("verify", "--dsn", dsn)
    assert verified.code == 0, verified.describe()
    for stream in (applied.out, applied.err, verified.out, verified.err):
        assert not RAW_CONTROL.search(stream), stream

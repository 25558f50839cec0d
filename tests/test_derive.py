"""The keyed derivation: uuid = first 128 bits of sha256(key || root || 0x00 || old value), version
and variant nibbles 8. Python (uuidpk map) and SQL (the conversion) must agree bit for bit."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pgutil
import psycopg
import pytest
from checks import uuidpk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from uuidpk import derive_uuid
from uuidpk.derive import BadKey, derive_uuid7, new_key, parse_key, read_key
from uuidpk.ops import CreateKeyFunction, Step
from uuidpk.render import step_sql


def reference(key: bytes, root: str, value: object) -> uuid.UUID:
    """DESIGN.md's formula, written out independently of uuidpk.derive."""
    digest = bytearray(hashlib.sha256(key + root.encode() + b"\x00" + str(value).encode()).digest())
    block = digest[:16]
    block[6] = (block[6] & 0x0F) | 0x80  # version nibble: 8
    block[8] = (block[8] & 0x0F) | 0x80  # variant nibble: 8 (binary 10xx)
    return uuid.UUID(bytes=bytes(block))


KEY = bytes(range(32))
keys = st.binary(min_size=16, max_size=64)
roots = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)
values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=40).filter(lambda s: "\x00" not in s),
)


@given(key=keys, root=roots, value=values)
def test_matches_the_formula(key: bytes, root: str, value: int | str) -> None:
    assert derive_uuid(key, root, value) == reference(key, root, value)


@given(key=keys, root=roots, value=values)
def test_is_an_rfc_9562_version_8_uuid(key: bytes, root: str, value: int | str) -> None:
    result = derive_uuid(key, root, value)
    assert result.version == 8
    assert result.variant == uuid.RFC_4122
    assert str(result)[14] == "8" and str(result)[19] == "8"


def test_is_a_function_of_key_root_and_value() -> None:
    base = derive_uuid(KEY, "public.order_order", 42)
    assert derive_uuid(KEY, "public.order_order", 42) == base
    assert derive_uuid(KEY, "public.order_order", "42") == base  # the text of the value
    assert derive_uuid(KEY, "public.order_order", 43) != base
    assert derive_uuid(KEY, "public.invoice_invoice", 42) != base
    assert derive_uuid(bytes(reversed(KEY)), "public.order_order", 42) != base


def test_root_and_value_cannot_run_into_each_other() -> None:
    # Without the 0x00 separator, ("public.a", "1x") and ("public.a1", "x") would hash the
    # same bytes.
    assert derive_uuid(KEY, "public.a", "1x") != derive_uuid(KEY, "public.a1", "x")


def test_distinct_values_give_distinct_uuids() -> None:
    made = {derive_uuid(KEY, "public.t", i) for i in range(20_000)}
    assert len(made) == 20_000


# -- keys ---------------------------------------------------------------------------------------


def test_new_key_is_32_random_bytes() -> None:
    a, b = new_key(), new_key()
    assert len(a) == 32 and len(b) == 32
    assert a != b


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00" * 16, bytes(16)),
        ("ab" * 32 + "\n", b"\xab" * 32),
        ("  \\x" + "0f" * 20 + "  ", b"\x0f" * 20),
        ("AbCd" * 8, b"\xab\xcd" * 8),
    ],
)
def test_parse_key_accepts_hex(text: str, expected: bytes) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "zz" * 16, "0" * 33, "00" * 15, "\\x", "00 11" * 8, "0x" + "00" * 16],
)
def test_parse_key_refuses_what_is_not_a_long_enough_hex_key(text: str) -> None:
    with pytest.raises(BadKey):
        parse_key(text)


def test_read_key_sources(tmp_path: Path) -> None:
    file_key, env_key = "11" * 32, "22" * 32
    key_file = tmp_path / "key.hex"
    key_file.write_text(file_key + "\n")
    assert read_key(None, env={}) is None
    assert read_key(None, env={"UUIDPK_KEY": env_key}) == bytes.fromhex(env_key)
    assert read_key(str(key_file), env={"UUIDPK_KEY": env_key}) == bytes.fromhex(file_key)


def test_read_key_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.hex"
    with pytest.raises(BadKey, match=r"nope\.hex"):
        read_key(str(missing), env={})


# -- SQL and Python agree ----------------------------------------------------------------------

SQL_CASES: list[tuple[str, int | str]] = [
    ("public.order_order", 1),
    ("public.order_order", 42),
    ("public.order_order", 0),
    ("public.order_order", -7),
    ("public.big", 2**63 - 1),
    ("public.big", -(2**63)),
    ('App.Order "x"', 42),
    ("App.LineItem", "tab\there"),
    ("public.codes", "back\\slash"),
    ("public.codes", "\\x00"),
    ("public.codes", "it's"),
    ("public.codes", "é日本🎉"),
    ("public.codes", ""),
    ("public.codes", "   "),
    ("Ünïcødé.tâble", "v"),
]


def kept_key_function(conn: psycopg.Connection, key: bytes) -> None:
    for statement in step_sql(Step("prepare", (CreateKeyFunction(key),))):
        conn.execute(statement)


def sql_uuids(conn: psycopg.Connection, cases: list[tuple[str, int | str]]) -> list[uuid.UUID]:
    rows = conn.execute(
        "SELECT pg_temp.uuidpk_uuid(r, v) FROM unnest(%s::text[], %s::text[]) "
        "WITH ORDINALITY AS u(r, v, i) ORDER BY i",
        ([r for r, _ in cases], [str(v) for _, v in cases]),
    ).fetchall()
    return [row[0] for row in rows]


def test_sql_function_with_a_kept_key_matches_python(conn: psycopg.Connection) -> None:
    key = bytes.fromhex("5c27" * 16)  # backslash and quote bytes in the key itself
    kept_key_function(conn, key)
    assert sql_uuids(conn, SQL_CASES) == [derive_uuid(key, r, v) for r, v in SQL_CASES]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=keys, cases=st.lists(st.tuples(roots, values), min_size=1, max_size=20))
def test_sql_and_python_agree_on_any_input(
    conn: psycopg.Connection, key: bytes, cases: list[tuple[str, int | str]]
) -> None:
    with conn.transaction(force_rollback=True):
        kept_key_function(conn, key)
        assert sql_uuids(conn, cases) == [derive_uuid(key, r, v) for r, v in cases]


def test_sql_column_cast_matches_python_for_every_key_type(conn: psycopg.Connection) -> None:
    """The conversion derives from col::text: the text form of smallint, integer, bigint,
    varchar and char(n) (trailing blanks dropped) must be what `uuidpk map` is given."""
    kept_key_function(conn, KEY)
    row = conn.execute(
        "SELECT pg_temp.uuidpk_uuid('s.t', 32767::int2::text),"
        "       pg_temp.uuidpk_uuid('s.t', (-5)::int4::text),"
        "       pg_temp.uuidpk_uuid('s.t', 9007199254740993::int8::text),"
        "       pg_temp.uuidpk_uuid('s.t', 'AB-1'::varchar(10)::text),"
        "       pg_temp.uuidpk_uuid('s.t', 'ab'::char(5)::text)"
    ).fetchone()
    assert row == (
        derive_uuid(KEY, "s.t", 32767),
        derive_uuid(KEY, "s.t", -5),
        derive_uuid(KEY, "s.t", 9007199254740993),
        derive_uuid(KEY, "s.t", "AB-1"),
        derive_uuid(KEY, "s.t", "ab"),
    )


def test_random_key_function_is_stable_in_a_session_and_unknown_outside(dsn: str) -> None:
    """Without --key-file the key is made inside the server: the same value maps to the same
    uuid within the conversion, a different one in another session, and neither matches a
    guess made with a known key."""
    made = []
    for _ in range(2):
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in step_sql(Step("prepare", (CreateKeyFunction(None),))):
                conn.execute(statement)
            row = conn.execute(
                "SELECT pg_temp.uuidpk_uuid('public.t', '1'), pg_temp.uuidpk_uuid('public.t', '1'),"
                "       pg_temp.uuidpk_uuid('public.t', '2')"
            ).fetchone()
            assert row is not None
            first, again, other = row
            assert first == again and first != other
            assert first.version == 8 and first.variant == uuid.RFC_4122
            made.append(first)
    assert made[0] != made[1]


def test_text_keys_map_the_same_in_a_non_utf8_database(
    pg: pgutil.PgCluster, tmp_path: Path
) -> None:
    name = pgutil.unique_name("latin1")
    with psycopg.connect(pg.admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} ENCODING 'LATIN1' TEMPLATE template0 "
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    pg._databases.add(name)
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    codes = ["NL", "é", "Ñu", "back\\slash"]
    try:
        dsn = pg.dsn(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE country (code text PRIMARY KEY, name text NOT NULL)")
            for code in codes:
                conn.execute("INSERT INTO country VALUES (%s, %s)", [code, "name " + code])
        outcome = uuidpk(
            "apply",
            "--dsn",
            dsn,
            "--table",
            "country",
            "--allow-text-keys",
            "--key-file",
            str(key_file),
            "--yes",
        )
        assert outcome.code == 0, outcome.describe()
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = dict(conn.execute("SELECT name, code FROM country").fetchall())
        assert rows == {"name " + c: derive_uuid(KEY, "public.country", c) for c in codes}
    finally:
        pg.drop_database(name)


def test_time_ordered_sql_matches_python_for_every_millisecond_range(
    conn: psycopg.Connection,
) -> None:
    """derive_uuid7 keeps the low 48 bits of ms, as int8send(ms) does in SQL: ids past 2^48
    (Snowflake-style) and timestamps before 1970 map the same on both sides."""
    for statement in step_sql(Step("prepare", (CreateKeyFunction(KEY, time_ordered=True),))):
        conn.execute(statement)
    cases = [0, 1, 42, 2**31, 2**48 - 1, 2**48, 2**48 + 5, 2**62, -1, -(2**40), 1732170000000]
    for ms in cases:
        (by_text,) = conn.execute(
            "SELECT pg_temp.uuidpk_uuid7('public.t', %s::text, %s::bigint)", (str(ms), ms)
        ).fetchone()
        (by_integer,) = conn.execute(
            "SELECT pg_temp.uuidpk_uuid7('public.t', %s::bigint, %s::bigint)", (ms, ms)
        ).fetchone()
        expected = derive_uuid7(KEY, "public.t", ms, ms)
        assert by_text == by_integer == expected, ms
        assert expected.version == 7 and expected.variant == uuid.RFC_4122


def test_time_ordered_values_sort_by_milliseconds() -> None:
    values = [derive_uuid7(KEY, "public.t", n, ms) for n, ms in enumerate([5, 17, 2**40, 2**47])]
    assert values == sorted(values)

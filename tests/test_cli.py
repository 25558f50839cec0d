"""The command line itself: help, version, usage errors, where the connection comes from,
keygen and map."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pgutil
import pytest
from checks import REPO, assert_clean_failure, assert_ok, shop_copy, uuidpk, uuidpk_process
from psycopg.conninfo import conninfo_to_dict

from uuidpk import derive_uuid
from uuidpk.cli import main

COMMANDS = sorted(main.commands)


def test_the_core_commands_exist() -> None:
    assert {"inspect", "generate", "apply", "map", "keygen"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    outcome = assert_ok(uuidpk(command, "--help"))
    text = outcome.out
    assert "Example" in text, text
    example = text.split("Example", 1)[1]
    assert re.search(rf"^\s+uuidpk {re.escape(command)}\b", example, re.M), text
    assert "--help" in text and "-h, --help" not in text  # -h is the host, as in psql


def test_group_help_lists_every_command() -> None:
    text = assert_ok(uuidpk("--help")).out
    for command in COMMANDS:
        assert re.search(rf"^\s+{re.escape(command)}\s", text, re.M), command


def test_version_is_the_package_version() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert declared in assert_ok(uuidpk("--version")).out


def test_python_dash_m_runs_the_cli() -> None:
    outcome = uuidpk_process("--help")
    assert outcome.code == 0 and "inspect" in outcome.out


@pytest.mark.parametrize(
    "args",
    [
        ["nonsense"],
        ["inspect", "--no-such-option"],
        ["inspect", "--format", "yaml", "--all"],
        ["map", "42"],  # --table missing
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert_clean_failure(uuidpk(*args), code=2)


@pytest.fixture
def shop_dsn(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> str:
    return shop_copy(pg, request)


@pytest.mark.parametrize("command", ["inspect", "generate", "apply"])
def test_neither_table_nor_all_is_a_usage_error(shop_dsn: str, command: str) -> None:
    line = assert_clean_failure(uuidpk(command, "--dsn", shop_dsn), code=2)
    assert "--table" in line and "--all" in line


def test_usage_is_checked_before_connecting() -> None:
    assert_clean_failure(uuidpk("inspect", "--dsn", "host=127.0.0.1 port=1 dbname=x"), code=2)


def test_dsn_from_database_url(shop_dsn: str) -> None:
    outcome = assert_ok(uuidpk("inspect", "--table", "order_order", env={"DATABASE_URL": shop_dsn}))
    assert "public.order_order.id" in outcome.out


def test_dsn_from_libpq_variables(shop_dsn: str) -> None:
    params = conninfo_to_dict(shop_dsn)
    env = {
        "PGHOST": str(params.get("host", "")),
        "PGPORT": str(params.get("port", "")),
        "PGUSER": str(params.get("user", "")),
        "PGDATABASE": str(params["dbname"]),
    }
    outcome = assert_ok(uuidpk("inspect", "--table", "order_order", env=env))
    assert "public.order_order.id" in outcome.out


def test_explicit_dsn_wins_over_database_url(shop_dsn: str) -> None:
    wrong = "postgresql://nobody@127.0.0.1:1/nothing"
    outcome = uuidpk(
        "inspect", "--dsn", shop_dsn, "--table", "order_order", env={"DATABASE_URL": wrong}
    )
    assert_ok(outcome)


# -- keygen and map -----------------------------------------------------------------------------


def test_keygen_prints_a_fresh_32_byte_hex_key() -> None:
    first = assert_ok(uuidpk("keygen")).out.strip()
    second = assert_ok(uuidpk("keygen")).out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first != second


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, bytes]:
    text = assert_ok(uuidpk("keygen")).out
    path = tmp_path / "key.hex"
    path.write_text(text)
    return path, bytes.fromhex(text.strip())


def test_map_prints_the_derived_uuid_of_each_id(key_file: tuple[Path, bytes]) -> None:
    path, key = key_file
    outcome = assert_ok(
        uuidpk(
            "map", "--key-file", str(path), "--table", "public.order_order", "--", "42", "43", "-1"
        )
    )
    lines = [line.split("\t") for line in outcome.out.splitlines()]
    assert lines == [
        [old, str(derive_uuid(key, "public.order_order", old))] for old in ("42", "43", "-1")
    ]


def test_map_defaults_to_schema_public(key_file: tuple[Path, bytes]) -> None:
    path, _ = key_file
    short = assert_ok(uuidpk("map", "--key-file", str(path), "--table", "order_order", "7")).out
    full = assert_ok(
        uuidpk("map", "--key-file", str(path), "--table", "public.order_order", "7")
    ).out
    assert short == full


def test_map_reads_quoted_names(key_file: tuple[Path, bytes]) -> None:
    path, key = key_file
    outcome = assert_ok(uuidpk("map", "--key-file", str(path), "--table", 'App."Order ""x"""', "1"))
    assert outcome.out.split("\t")[1].strip() == str(derive_uuid(key, 'App.Order "x"', 1))


def test_map_takes_the_key_from_the_environment(key_file: tuple[Path, bytes]) -> None:
    path, key = key_file
    outcome = assert_ok(
        uuidpk("map", "--table", "public.t", "5", env={"UUIDPK_KEY": path.read_text().strip()})
    )
    assert outcome.out.split("\t")[1].strip() == str(derive_uuid(key, "public.t", 5))


def test_map_without_a_key_is_a_usage_error() -> None:
    assert_clean_failure(uuidpk("map", "--table", "public.t", "5"), code=2)


@pytest.mark.parametrize("content", [None, "not hex at all", "abcd"])
def test_map_with_a_bad_key_file_fails_cleanly(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "key.hex"
    if content is not None:
        path.write_text(content)
    line = assert_clean_failure(uuidpk("map", "--key-file", str(path), "--table", "public.t", "5"))
    assert line.startswith("uuidpk: error:")

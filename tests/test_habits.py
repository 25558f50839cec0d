"""Habits of PostgreSQL users: psql's connection flags, a bare database name, the config file
(uuidpk.toml or [tool.uuidpk]) that gives the same plan as the flags."""

from __future__ import annotations

from pathlib import Path

import pgutil
import pytest
from checks import assert_clean_failure, assert_ok, shop_copy, uuidpk
from psycopg.conninfo import conninfo_to_dict


@pytest.fixture
def shop_dsn(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> str:
    return shop_copy(pg, request)


def _psql_flags(dsn: str) -> list[str]:
    params = conninfo_to_dict(dsn)
    flags = ["-h", str(params.get("host", "")), "-p", str(params.get("port", ""))]
    if params.get("user"):
        flags += ["-U", str(params["user"])]
    return flags


def test_psql_flags_connect(shop_dsn: str) -> None:
    dbname = str(conninfo_to_dict(shop_dsn)["dbname"])
    args = ["inspect", *_psql_flags(shop_dsn), "-d", dbname, "--table", "order_order"]
    assert "public.order_order.id" in assert_ok(uuidpk(*args)).out


def test_a_bare_database_name_is_a_dsn(shop_dsn: str) -> None:
    params = conninfo_to_dict(shop_dsn)
    env = {"PGHOST": str(params.get("host", "")), "PGPORT": str(params.get("port", ""))}
    if params.get("user"):
        env["PGUSER"] = str(params["user"])
    outcome = uuidpk("inspect", "--dsn", str(params["dbname"]), "--table", "order_order", env=env)
    assert "public.order_order.id" in assert_ok(outcome).out


def test_flags_override_the_dsn_parts(shop_dsn: str) -> None:
    # The DSN names a database that does not exist; -d names the right one (psql does the same).
    dbname = str(conninfo_to_dict(shop_dsn)["dbname"])
    wrong = shop_dsn.replace(dbname, "no_such_database")
    outcome = uuidpk("inspect", "--dsn", wrong, "-d", dbname, "--table", "order_order")
    assert_ok(outcome)


def test_dash_w_prompts_and_never_prints_the_password() -> None:
    outcome = uuidpk(
        "inspect", "-h", "127.0.0.1", "-p", "1", "-U", "alice", "-d", "x", "-W", "--all",
        input="hunter2-secret\n",
    )  # fmt: skip
    assert outcome.code == 1 and outcome.exception is None, outcome.describe()
    assert outcome.err_lines[0].startswith("Password for user alice")
    assert "127.0.0.1:1" in outcome.err_lines[-1]
    assert "hunter2-secret" not in outcome.out + outcome.err


def test_help_is_long_only() -> None:
    assert_clean_failure(uuidpk("inspect", "-h"), code=2)  # -h needs a host


# -- the config file ----------------------------------------------------------------------------

FLAGS = ["--table", "order_order", "--uuid", "v7", "--lock-timeout", "3s", "--keep-old-id"]
CONFIG = """
tables = ["order_order"]
uuid = "v7"
lock-timeout = "3s"

[generate]
keep_old_id = "old_id"
"""


def test_the_config_file_gives_the_plan_of_the_flags(
    shop_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    by_flags = assert_ok(uuidpk("generate", "--dsn", shop_dsn, *FLAGS)).out
    (tmp_path / "uuidpk.toml").write_text(CONFIG)
    by_file = assert_ok(uuidpk("generate", "--dsn", shop_dsn)).out
    assert "old_id" in by_file and "3000ms" in by_file
    assert by_file == by_flags


def test_pyproject_section_and_flags_win(
    shop_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.uuidpk]\n" + CONFIG.replace("[generate]", "[tool.uuidpk.x]")
    )
    with pytest.raises(AssertionError):
        assert_ok(uuidpk("generate", "--dsn", shop_dsn))  # [x] is no command: refused
    section = CONFIG.replace("[generate]", "[tool.uuidpk.generate]")
    (tmp_path / "pyproject.toml").write_text("[tool.uuidpk]\n" + section)
    overridden = assert_ok(uuidpk("generate", "--dsn", shop_dsn, "--lock-timeout", "7s")).out
    assert "7000ms" in overridden and "3000ms" not in overridden


def test_an_unknown_setting_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('tabels = ["order_order"]\n')
    line = assert_clean_failure(uuidpk("--config", str(path), "inspect"), code=2)
    assert "tabels" in line


def test_a_password_in_the_config_file_is_refused_unquoted(tmp_path: Path) -> None:
    path = tmp_path / "uuidpk.toml"
    path.write_text('[apply]\npassword = "hunter2-secret"\n')
    line = assert_clean_failure(uuidpk("--config", str(path), "inspect", "--all"), code=2)
    assert "no password" in line and "hunter2-secret" not in line


# -- index builds -------------------------------------------------------------------------------


def test_index_build_memory_and_workers_are_options(
    shop_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    default = assert_ok(uuidpk("generate", "--dsn", shop_dsn, "--table", "order_order")).out
    assert """SET LOCAL "maintenance_work_mem" = '1GB';""" in default
    assert """SET LOCAL "max_parallel_maintenance_workers" = '2';""" in default
    # A bare number is megabytes (PostgreSQL would read kilobytes): the unit is written out.
    flags = ["--maintenance-work-mem", "300", "--parallel-maintenance-workers", "0"]
    given = assert_ok(uuidpk("generate", "--dsn", shop_dsn, "--table", "order_order", *flags))
    assert """SET LOCAL "maintenance_work_mem" = '300MB';""" in given.out
    assert """SET LOCAL "max_parallel_maintenance_workers" = '0';""" in given.out
    (tmp_path / "uuidpk.toml").write_text(
        'maintenance-work-mem = "512MB"\nparallel-maintenance-workers = 1\n'
    )
    by_file = assert_ok(uuidpk("generate", "--dsn", shop_dsn, "--table", "order_order")).out
    assert """SET LOCAL "maintenance_work_mem" = '512MB';""" in by_file
    assert """SET LOCAL "max_parallel_maintenance_workers" = '1';""" in by_file
    for bad in ("12XB", "0MB", "-1GB"):
        line = assert_clean_failure(
            uuidpk(
                "generate",
                "--dsn",
                shop_dsn,
                "--table",
                "order_order",
                "--maintenance-work-mem",
                bad,
            ),
            code=2,
        )
        assert bad in line

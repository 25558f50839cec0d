"""Issue 10: `generate --online`, the online phases as one psql script a DBA runs with psql -f.
The database it leaves equals what `apply --online` gives; nothing of the migration is left."""

from __future__ import annotations

from pathlib import Path

import pgutil
import pytest
from checks import HOSTILE_SQL, assert_ok, clone, connect, shop_copy, shop_template, uuidpk
from test_lint import _squawk, needs_squawk
from test_online import KEY, SHOP, facts_by_name, leftovers, rows_by_value, run_online


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

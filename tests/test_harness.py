"""The test harness itself: the server, per-test databases, corpus loading."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pgutil
import psycopg
import pytest
from psycopg import sql

USER_TABLES = """
    SELECT n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY 1, 2
"""


def test_server_is_supported_version(pg: pgutil.PgCluster) -> None:
    assert pg.version >= 130000
    with psycopg.connect(pg.admin_dsn) as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row is not None and row[1] is True


def test_fresh_database_is_empty(conn: psycopg.Connection) -> None:
    assert conn.execute(USER_TABLES).fetchall() == []


def test_databases_are_isolated(pg: pgutil.PgCluster, conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE leak (id int PRIMARY KEY)")
    with (
        pgutil.temporary_database(pg, "other") as (name, other_dsn),
        psycopg.connect(other_dsn) as other,
    ):
        assert other.execute(USER_TABLES).fetchall() == []
        assert other.execute("SELECT current_database()").fetchone() == (name,)
    assert conn.execute(USER_TABLES).fetchall() == [("public", "leak")]


def test_dropped_after_use(pg: pgutil.PgCluster) -> None:
    with pgutil.temporary_database(pg, "gone") as (name, _dsn):
        pass
    with psycopg.connect(pg.admin_dsn) as admin:
        assert (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        )


def test_awkward_database_names_work(pg: pgutil.PgCluster) -> None:
    name = 'Order "x" select'
    created, dsn = pg.create_database(name)
    try:
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        pg.drop_database(created)


def test_run_psql_reports_errors(dsn: str) -> None:
    assert "42" in pgutil.run_psql(dsn, "SELECT 41 + 1;")
    with pytest.raises(pgutil.PsqlError, match="no_such_table"):
        pgutil.run_psql(dsn, "SELECT 1; SELECT * FROM no_such_table; SELECT 2;")


def test_rename_database_rewrites_create_and_connect() -> None:
    script = (
        "DROP DATABASE IF EXISTS chinook;\n"
        "CREATE DATABASE chinook;\n"
        "\\c chinook;\n"
        "SELECT 'chinook';\n"
    )
    assert pgutil._rename_database(script, "chinook", "t1_copy") == (
        "DROP DATABASE IF EXISTS t1_copy;\n"
        "CREATE DATABASE t1_copy;\n"
        "\\c t1_copy;\n"
        "SELECT 'chinook';\n"
    )


def test_corpus_files_are_upstreams_with_source_and_licence() -> None:
    """Each corpus folder carries its SOURCE.txt and LICENSE, every script the loader reads is
    there, and each file's text is the upstream file whose sha256 SOURCE.txt names."""
    folders = {spec.folder for spec in pgutil.CORPORA.values()}
    assert folders == {p.name for p in pgutil.CORPUS_DIR.iterdir() if p.is_dir()}
    for folder in sorted(folders):
        here = pgutil.CORPUS_DIR / folder
        assert (here / "LICENSE").is_file(), folder
        source = (here / "SOURCE.txt").read_text(encoding="utf-8")
        named = dict(
            (name, digest)
            for digest, name in re.findall(r"^\s+([0-9a-f]{64})\s+(\S+)$", source, re.M)
        )
        scripts = {
            script
            for spec in pgutil.CORPORA.values()
            if spec.folder == folder
            for script in spec.files
        }
        assert {s.removesuffix(".gz") for s in scripts} == set(named), folder
        for script in scripts:
            text = pgutil.corpus_text(here / script)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            assert digest == named[script.removesuffix(".gz")], f"{folder}/{script}"


@pytest.mark.corpus
def test_pgexercises_loads_and_copies_are_private(
    corpus_dsn_factory: Callable[[str], str],
) -> None:
    first = corpus_dsn_factory("pgexercises")
    second = corpus_dsn_factory("pgexercises")
    assert pgutil.database_name(first) != pgutil.database_name(second)
    with psycopg.connect(first, autocommit=True) as conn:
        tables = conn.execute(USER_TABLES).fetchall()
        assert {("cd", "bookings"), ("cd", "facilities"), ("cd", "members")} <= set(tables)
        members = conn.execute("SELECT count(*) FROM cd.members").fetchone()
        assert members is not None and members[0] > 0
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier("cd", "bookings")))
    with psycopg.connect(second) as conn:
        row = conn.execute("SELECT count(*) FROM cd.bookings").fetchone()
        assert row is not None and row[0] > 0


@pytest.mark.corpus
def test_forum_loads_twice_in_one_cluster(pg: pgutil.PgCluster) -> None:
    # Roles are cluster-wide: a second load must not trip over CREATE ROLE.
    for _ in range(2):
        name = pgutil.unique_name("forum")
        dsn = pgutil.load_corpus_into_new_database(pg, "forum", name)
        try:
            with psycopg.connect(dsn) as conn:
                policies = conn.execute("SELECT count(*) FROM pg_policies").fetchone()
                assert policies is not None and policies[0] > 0
        finally:
            pg.drop_database(name)

"""Shared fixtures: a real PostgreSQL for the session, a fresh database per test.

    pg                  session   PgCluster: .admin_dsn, .dsn(name), .create_database(name=None,
                                  template=None) -> (name, dsn), .drop_database(name), .version
    dsn                 function  DSN of a fresh empty database, dropped after the test
    conn                function  psycopg.Connection (autocommit=True) to that database
    corpus_dsn_factory  function  callable(corpus_name) -> DSN of a private copy of that corpus,
                                  dropped after the test (names: pgutil.CORPUS_NAMES)

The server is UUIDPK_TEST_DSN if set, else a throwaway one started on first use (tests that ask
for none of these fixtures never start it). See tests/pgutil.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgutil

_clusters: list[pgutil.PgCluster] = []


@pytest.fixture(scope="session")
def pg() -> Iterator[pgutil.PgCluster]:
    cluster = pgutil.cluster_from_env()
    _clusters.append(cluster)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def dsn(pg: pgutil.PgCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name, database_dsn = pg.create_database(pgutil.unique_name(request.node.name))
    try:
        yield database_dsn
    finally:
        pg.drop_database(name)


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


@pytest.fixture
def corpus_dsn_factory(pg: pgutil.PgCluster) -> Iterator[Callable[[str], str]]:
    created: list[str] = []

    def make(name: str) -> str:
        template = pgutil.corpus_template(pg, name)
        db, database_dsn = pgutil.clone_database(pg, template, hint=name)
        created.append(db)
        return database_dsn

    try:
        yield make
    finally:
        for db in created:
            pg.drop_database(db)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for cluster in _clusters:
        if not cluster.timings:
            continue
        parts = ", ".join(f"{what} {seconds:.1f}s" for what, seconds in cluster.timings.items())
        terminalreporter.write_line(f"postgres harness (server {cluster.version}): {parts}")

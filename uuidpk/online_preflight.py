"""What an online conversion will refuse or run into, read before anything changes: one function
feeds both `inspect --online` (shown, exit 1 on blockers) and `apply --online` (blockers refused
before the first step, one line each).

Blockers: what the online planner cannot build (planning/online.py `unsupported`), triggers the
backfill cannot keep quiet, and NOT VALID CHECK constraints that existing rows violate (the
backfill's UPDATE checks every row it writes). Warnings, from the catalog and the pg_stat views:
transactions open for long (CREATE INDEX CONCURRENTLY waits for them; the cutover queues behind
their locks), prepared transactions, tables the backfill walks by ctid pages, publications. A
note: the disk and WAL the shadows and twins will take, labelled as an estimate.

Nothing here writes: the counts run in a READ ONLY transaction under a statement_timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from . import templates
from .graph import Closure, Graph, Node
from .model import Catalog
from .online import (
    may_set_replica,
    read_column_grants,
    read_index_partitions,
    read_index_shapes,
    read_update_triggers,
)
from .planning.refusals import unsupported
from .planning.shadows import ColumnGrant, Extra
from .problems import Problem, Severity
from .progress import size

LONG_TRANSACTION = 60.0  # seconds open before a transaction is worth a warning
COUNT_LIMIT = 256 * 1024 * 1024  # larger tables: no count of violating rows, a warning instead
COUNT_TIMEOUT = "5s"  # a count that takes longer gives up, and warns instead
UUID_BYTES = 16
# A btree entry of one uuid is 24 bytes (8 of header), one of an integer 16: a twin of a
# single-column index is about 1.5 times the original.
TWIN_FACTOR = 1.5


@dataclass(frozen=True)
class Estimate:
    """Bytes an online conversion adds, estimated from pg_relation_size and the row estimates."""

    shadow_bytes: int  # the uuid shadow columns, once filled
    twin_bytes: int  # the twins of indexes on closure columns
    row_version_bytes: int  # the backfill's new version of every row, until VACUUM reuses it
    wal_bytes: int  # at least: full-page writes add more
    unanalyzed: int = 0  # tables never analyzed: their shadows count as empty

    def to_json(self) -> dict[str, int | str]:
        return {**asdict(self), "label": "estimate"}

    def describe(self) -> str:
        unknown = (
            f"; {self.unanalyzed} table(s) never analyzed count no rows (ANALYZE them first)"
            if self.unanalyzed
            else ""
        )
        return (
            f"estimated: the shadow columns take ~{size(self.shadow_bytes)} and the index twins "
            f"~{size(self.twin_bytes)} more; the backfill's new row versions up to "
            f"~{size(self.row_version_bytes)} until VACUUM reuses them; at least "
            f"~{size(self.wal_bytes)} of WAL (an estimate from pg_relation_size and the "
            f"planner's row counts{unknown})"
        )


@dataclass(frozen=True)
class Readiness:
    extra: Extra  # what the online planner reads beyond the catalog
    problems: tuple[Problem, ...]
    estimate: Estimate

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.severity.blocks]


def read_readiness(
    conn: psycopg.Connection,
    graph: Graph,
    closures: Sequence[Closure],
    *,
    transaction_age: float = LONG_TRANSACTION,
) -> Readiness:
    """Read what the online planner needs (index shapes, UPDATE triggers, column grants) and
    everything online mode would refuse or run into for these closures. transaction_age:
    seconds a transaction must have been open to be named."""
    catalog = graph.catalog
    nodes = {n for closure in closures for n in closure.nodes}
    tables = sorted({n[0] for n in nodes})
    indexes = [
        i.oid
        for t in tables
        for i in catalog.indexes_of(t)
        if (set(i.used_columns) | set(i.key_columns)) & {a for tt, a in nodes if tt == t}
    ]
    shapes = read_index_shapes(conn, [i.oid for i in catalog.indexes])
    # A partitioned table is backfilled partition by partition: a partition's own triggers
    # fire too, and its own column privileges come back on its new columns.
    partitions = [t.oid for t in catalog.tables if t.is_partition and t.parent_oid in tables]
    triggers = read_update_triggers(conn, tables + partitions)
    grants: dict[Node, list[ColumnGrant]] = {}
    for table_oid, attnum, grantee, privilege, grantable in read_column_grants(
        conn, tables + partitions
    ):
        grants.setdefault((table_oid, attnum), []).append(
            ColumnGrant(grantee, privilege, grantable)
        )
    partitioned = {t.oid for t in catalog.tables if t.is_partitioned}
    attached = read_index_partitions(
        conn, [i.oid for i in catalog.indexes if i.table_oid in partitioned]
    )
    extra = Extra(shapes, frozenset(triggers), {n: tuple(g) for n, g in grants.items()}, attached)
    if not tables:
        return Readiness(extra, (), Estimate(0, 0, 0, 0))
    problems = unsupported(graph, closures, shapes)
    problems += _trigger_problems(conn, catalog, triggers)
    problems += _unvalidated_checks(conn, catalog, tables)
    problems += _sessions(conn, transaction_age)
    problems += _prepared(conn, catalog, tables)
    problems += _paged_tables(graph, tables)
    problems += _publications(conn, catalog, tables)
    estimate = _estimate(conn, catalog, nodes, tables, indexes)
    problems.append(Problem(Severity.NOTE, "disk", catalog.server.database, estimate.describe()))
    return Readiness(extra, tuple(problems), estimate)


def _trigger_problems(
    conn: psycopg.Connection, catalog: Catalog, triggers: Mapping[int, list[tuple[str, str]]]
) -> list[Problem]:
    found = []
    for table_oid, listed in sorted(triggers.items()):
        table = catalog.table(table_oid).qname
        for name, enabled in listed:
            if enabled == "A":
                found.append(
                    Problem(
                        Severity.BLOCKER,
                        "trigger",
                        f"{name} on {table}",
                        "ENABLE ALWAYS: the online backfill's UPDATEs would fire it; use offline",
                    )
                )
    if triggers and not may_set_replica(conn):
        names = sorted(
            f"{name} on {catalog.table(t).qname}"
            for t, listed in triggers.items()
            for name, _ in listed
        )
        found.append(
            Problem(
                Severity.BLOCKER,
                "role",
                str(conn.info.user),
                f"trigger(s) {', '.join(names)} would fire on every backfilled row; the backfill "
                "skips them with session_replication_role, which needs a superuser or "
                "(PostgreSQL 15+) GRANT SET ON PARAMETER session_replication_role",
            )
        )
    return found


def _read_only(conn: psycopg.Connection) -> None:
    """Make the transaction just begun READ ONLY with a short statement_timeout."""
    if conn.autocommit:
        conn.execute("SET TRANSACTION READ ONLY")
    conn.execute(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")


def _unvalidated_checks(
    conn: psycopg.Connection, catalog: Catalog, tables: list[int]
) -> list[Problem]:
    rows = conn.execute(
        templates.statement("online/preflight_unvalidated_checks.sql"), {"tables": tables}
    ).fetchall()
    found = []
    for table_oid, name, expression, table_bytes in rows:
        table = catalog.table(table_oid).qname
        where = f"{table}.{name}"
        why = "the backfill's UPDATE checks every row it writes"
        violating = None
        if table_bytes <= COUNT_LIMIT:
            count = templates.statement("online/preflight_check_violations.sql").format(
                table=sql.Identifier(table.schema, table.name),
                # Deparsed by PostgreSQL from the constraint itself (pg_get_expr).
                expression=sql.SQL(expression),
            )
            try:
                with conn.transaction():
                    _read_only(conn)
                    row = conn.execute(count).fetchone()
                violating = int(row[0]) if row else None
            except psycopg.errors.QueryCanceled:
                violating = None
        if violating == 0:
            continue
        if violating is None:
            found.append(
                Problem(
                    Severity.WARNING,
                    "check constraint",
                    where,
                    f"NOT VALID and too large to count here ({size(table_bytes)}): {why} and "
                    "fails on the first that violates it; VALIDATE CONSTRAINT it first (writes "
                    "go on meanwhile)",
                )
            )
        else:
            found.append(
                Problem(
                    Severity.BLOCKER,
                    "check constraint",
                    where,
                    f"NOT VALID and {violating} row(s) violate it: {why} and would fail on "
                    "them; fix those rows (then VALIDATE CONSTRAINT it) first",
                )
            )
    return found


def _sessions(conn: psycopg.Connection, transaction_age: float) -> list[Problem]:
    rows = conn.execute(
        templates.statement("online/preflight_sessions.sql"), {"seconds": transaction_age}
    ).fetchall()
    found = []
    for pid, user, application, state, age in rows:
        who = f"user {user}" + (f", application {application}" if application else "")
        found.append(
            Problem(
                Severity.WARNING,
                "session",
                f"pid {pid}",
                f"{state or 'a transaction'} for {age:.0f} s ({who}): CREATE INDEX CONCURRENTLY "
                "waits until it ends, and the cutover queues behind the locks it holds",
            )
        )
    row = conn.execute(templates.statement("online/preflight_sees_sessions.sql")).fetchone()
    if not (row and row[0]):
        found.append(
            Problem(
                Severity.WARNING,
                "role",
                str(conn.info.user),
                "cannot see when other roles' transactions began (pg_stat_activity shows them "
                "only to superusers and members of pg_read_all_stats): long ones go unnamed here",
            )
        )
    return found


def _prepared(conn: psycopg.Connection, catalog: Catalog, tables: list[int]) -> list[Problem]:
    rows = conn.execute(
        templates.statement("online/preflight_prepared.sql"), {"tables": tables}
    ).fetchall()
    found = []
    for gid, owner, age, held in rows:
        locks = ", ".join(sorted(str(catalog.table(t).qname) for t in held if catalog.has_table(t)))
        holding = f", holding locks on {locks}" if locks else ""
        found.append(
            Problem(
                Severity.WARNING,
                "prepared transaction",
                gid,
                f"prepared {age:.0f} s ago by {owner}{holding}: CREATE INDEX CONCURRENTLY waits "
                "for it and the cutover cannot lock its tables until COMMIT PREPARED or "
                "ROLLBACK PREPARED",
            )
        )
    return found


def _paged_tables(graph: Graph, tables: list[int]) -> list[Problem]:
    found = []
    for table_oid in tables:
        # As planning/online.py's backfill: key ranges need a single-column primary key.
        pk = graph.primary_key(table_oid)
        if pk is not None and len(pk.columns) == 1:
            continue
        table = graph.catalog.table(table_oid)
        if table.is_partitioned:
            continue  # no rows of its own
        rows = "rows unknown" if table.est_rows is None else f"~{max(table.est_rows, 0):,} rows"
        found.append(
            Problem(
                Severity.WARNING,
                "table",
                str(table.qname),
                f"no single-column primary key: the backfill walks its {size(table.size_bytes)} "
                f"({rows}) in ctid page ranges, not key ranges",
            )
        )
    return found


def _publications(conn: psycopg.Connection, catalog: Catalog, tables: list[int]) -> list[Problem]:
    rows = conn.execute(
        templates.statement("online/preflight_publications.sql"), {"tables": tables}
    ).fetchall()
    published: dict[str, list[str]] = {}
    for publication, table_oid in rows:
        published.setdefault(publication, []).append(str(catalog.table(table_oid).qname))
    return [
        Problem(
            Severity.WARNING,
            "publication",
            publication,
            f"publishes {', '.join(sorted(names))}: logical replication carries no DDL, so "
            "each subscriber's tables must gain the shadow columns before the expand phase "
            "(or its apply stops on a missing replicated column), receive every row again "
            "from the backfill, and change the key columns to uuid with the cutover",
        )
        for publication, names in sorted(published.items())
    ]


def _estimate(
    conn: psycopg.Connection,
    catalog: Catalog,
    nodes: set[Node],
    tables: list[int],
    indexes: list[int],
) -> Estimate:
    rows = conn.execute(
        templates.statement("online/preflight_sizes.sql"), {"tables": tables, "indexes": indexes}
    ).fetchall()
    shadows = twins = versions = unanalyzed = 0
    for table_oid, table_bytes, index_bytes in rows:
        columns = sum(1 for t, _ in nodes if t == table_oid)
        est = catalog.table(table_oid).est_rows
        unanalyzed += est is None and not catalog.table(table_oid).is_partitioned
        added = max(est or 0, 0) * UUID_BYTES * columns
        shadows += added
        versions += int(table_bytes) + added
        twins += int(int(index_bytes) * TWIN_FACTOR)
    # The backfill logs each new row version, the concurrent builds each twin.
    return Estimate(shadows, twins, versions, versions + twins, unanalyzed)
